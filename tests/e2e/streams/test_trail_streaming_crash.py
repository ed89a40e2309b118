"""Streaming to a log group survives kill -9: after a restart every event the trail selected is in the
group exactly once (DESIGN.md rule 2 for the second delivery path)."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

from tests.support.delivery import record
from tests.support.server import Server, make_server
from tests.support.streams import Tenant


@pytest.fixture
def crashable() -> Iterator[Server]:
    """A server of this test's own, killed and restarted in its data directory."""
    yield from make_server({"OPENTRAIL_DELIVERY_INTERVAL": "1"})


def test_kill_9_while_streaming_loses_and_doubles_nothing(crashable: Server) -> None:
    tenant = Tenant(crashable)
    tenant.streaming_trail("crash")
    sent = [record(tenant.account) for _ in range(400)]
    for start in range(0, 400, 50):
        tenant.ingest(sent[start : start + 50])
    crashable.kill()  # acknowledged events, most of them not streamed yet
    crashable.start()
    tenant.logs = crashable.client("logs", tenant.creds)
    ids = {r["eventID"] for r in sent}
    streamed = tenant.wait_streamed(ids, timeout=60)
    counts = collections.Counter(streamed)
    assert {i for i, n in counts.items() if n > 1} == set()
