"""The real-time path's end-to-end fixtures: one server per store backend for the folder, with quick
delivery, and tenants that own a bucket, a log group and a trail streaming to it. The server's log must
show no traceback afterwards (a failure of a worker is a bug, even when the tests' answers were right)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.server import Server, server_on_backend
from tests.support.stub import Stub, serve_stub


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    env = {
        "OPENTRAIL_DELIVERY_INTERVAL": "1",
        "OPENTRAIL_DIGEST_INTERVAL": "4",
        "OPENTRAIL_NOTIFICATION_RETRY_DELAY": "0.2",
    }
    running = server_on_backend(request, env)
    server = next(running)
    yield server
    log = (server.data_dir / "server.log").read_text(errors="replace")
    running.close()
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture
def webhook() -> Iterator[Stub]:
    """A webhook topic's endpoint on loopback, keeping every notification POSTed to it."""
    yield from serve_stub()
