"""The metric-filter consumer survives kill -9: after a restart every streamed event is counted exactly
once (its samples and its cursor are one transaction), whether the kill came before, during or after
the consumer's pass over it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.delivery import record
from tests.support.server import Server, make_server
from tests.support.streams import Monitored, at

EVENTS = 600
BATCH = 50


@pytest.fixture
def crashable() -> Iterator[Server]:
    """A server of this test's own (SQLite), killed and restarted in its data directory."""
    yield from make_server({"OPENTRAIL_DELIVERY_INTERVAL": "1"})


def test_kill_9_while_counting_loses_and_doubles_nothing(crashable: Server) -> None:
    tenant = Monitored(crashable)
    tenant.streaming_trail("crash")
    tenant.metric_filter("Runs", '{ $.eventName = "RunInstances" }')
    t = int(time.time()) - 60
    sent = [at(record(tenant.account), t + i % 3) for i in range(EVENTS)]
    for start in range(0, EVENTS, BATCH):
        tenant.ingest(sent[start : start + BATCH])
    crashable.kill()  # acknowledged events, some of them streamed and counted, some not
    crashable.start()
    tenant.logs = crashable.client("logs", tenant.creds)
    tenant.cloudwatch = crashable.client("cloudwatch", tenant.creds)
    each = EVENTS / 3
    tenant.wait_statistics("Runs", t - 5, t + 5, {t + i: (each, each) for i in range(3)}, timeout=60)
    assert "Traceback" not in (crashable.data_dir / "server.log").read_text(errors="replace")
