"""The security suite's fixtures: one real server the folder attacks (its own, so the tally counts only
the suite's requests), a victim and an intruder account with holdings on it, and the tally of every
request sent, printed at the end of the run and kept in pytest's cache (``opentrail/security-tally``).
This file only registers fixtures and the summary hook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.holdings import Holdings, acquire
from tests.support.server import Server, make_server
from tests.support.tally import Tally
from tests.support.wire import Wire, count_server, log_since, log_size

MIB = 1024 * 1024
# Smaller than the default so the bodies over it stay quick to send; everything else as shipped.
ENV = {"OPENTRAIL_MAX_BODY_BYTES": str(4 * MIB)}
TALLY = pytest.StashKey[Tally]()


@pytest.fixture(scope="session")
def tally(pytestconfig: pytest.Config) -> Iterator[Tally]:
    found = Tally()
    pytestconfig.stash[TALLY] = found
    yield found
    cache = getattr(pytestconfig, "cache", None)
    if cache is not None:
        cache.set("opentrail/security-tally", found.as_json())


@pytest.fixture(scope="package")
def server(tally: Tally) -> Iterator[Server]:
    for running in make_server(ENV):
        yield running
        count_server(tally, running)


@pytest.fixture(scope="package")
def wire(server: Server, tally: Tally) -> Iterator[Wire]:
    sender = Wire(server, tally)
    yield sender
    sender.close()


@pytest.fixture(scope="package")
def victim(server: Server, wire: Wire) -> Holdings:
    """The account under attack, and what it owns."""
    return acquire(wire, server.new_account("victim"), "victim")


@pytest.fixture(scope="package")
def intruder(server: Server, wire: Wire) -> Holdings:
    """An account of the same server with holdings of its own, attacking the victim's."""
    return acquire(wire, server.new_account("intruder"), "intruder")


@pytest.fixture(autouse=True)
def _no_traceback_in_the_server_log(server: Server) -> Iterator[None]:
    """Whatever a test sent, the server must not have failed on it: a traceback is a 5xx or a dropped
    connection, reported against the test that caused it."""
    start = log_size(server)
    yield
    logged = log_since(server, start)
    assert "Traceback" not in logged, logged[-3000:]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    found = config.stash.get(TALLY, None)
    if found is not None and found.total():
        terminalreporter.section("security suite: requests sent")
        for line in found.lines():
            terminalreporter.write_line(line)
        terminalreporter.write_line("by route: .pytest_cache/v/opentrail/security-tally")
