"""Event history retention (``server/retention.py``): once an hour the server drops the events ingested on
UTC days wholly before OPENTRAIL_RETENTION_DAYS ago (CloudTrail keeps 90 days of event history; OpenTrail
counts by ingestion, so replayed old records stay searchable) and logs how many went; a pass the store
fails is logged and the loop carries on to the next hour."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.context import Services
from opentrail.ingest.records import index_record
from opentrail.server.retention import enforce_retention
from opentrail.settings import Settings
from opentrail.store import Store, open_store
from tests.support.services import open_env
from tests.support.store import everything, record

DAY = 86400
ACCOUNT = "111111111111"
WAIT = 20.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(100 * DAY + 12 * 3600)  # noon, day 100 of the epoch


@pytest.fixture
def store(tmp_path: Path, clock: FixedClock) -> Iterator[Store]:
    """A store whose ingestion days follow the test's clock."""
    store = open_store(f"sqlite:///{tmp_path / 'retention.db'}", clock)
    yield store
    store.close()


@pytest.fixture
def services(tmp_path: Path, store: Store, clock: FixedClock) -> Iterator[Services]:
    for env in open_env(tmp_path, clock):
        yield dataclasses.replace(
            env.services, store=store, settings=Settings(data_dir=tmp_path, retention_days=2)
        )


def ingest(store: Store, clock: FixedClock, event_id: str, at: float) -> None:
    clock.value = at
    store.append([index_record(record(event_id), ACCOUNT)])


def ids(store: Store) -> list[str]:
    return [event.row.event_id for event in everything(store)]


def run_until(services: Services, done: Callable[[], bool], wait: float = WAIT) -> bool:
    """Run the retention loop until ``done`` (its first pass is over) or ``wait`` seconds; whether it is
    still running then (waiting for its next pass)."""

    async def main() -> bool:
        task = asyncio.create_task(enforce_retention(services))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not done() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        alive = not task.done()
        task.cancel()
        return alive

    return asyncio.run(main())


def test_days_ingested_before_the_window_go_and_the_count_is_logged(
    services: Services, store: Store, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    ingest(store, clock, "day-100", 100 * DAY + 12 * 3600)
    ingest(store, clock, "day-101", 101 * DAY + 12 * 3600)
    ingest(store, clock, "day-102", 102 * DAY + 6 * 3600)
    clock.value = 103 * DAY + 1800  # two days back is 00:30 on day 101: only day 100 lies wholly before
    with caplog.at_level(logging.INFO, logger="opentrail"):
        assert run_until(services, lambda: "retention removed" in caplog.text)
    assert ids(store) == ["day-101", "day-102"]
    assert f"retention removed 1 events ingested before {101 * DAY + 1800}" in caplog.text


def test_nothing_inside_the_window_goes_and_nothing_is_logged(
    services: Services, store: Store, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    ingest(store, clock, "day-101", 101 * DAY)
    clock.value = 103 * DAY - 1  # day 101 began less than two days ago
    with caplog.at_level(logging.INFO, logger="opentrail"):
        # A pass takes milliseconds here; half a second is room for several.
        assert run_until(services, lambda: bool(caplog.records), wait=0.5)
    assert ids(store) == ["day-101"]
    assert "retention" not in caplog.text


def test_a_failing_pass_is_logged_and_the_loop_goes_on(
    services: Services, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    conn = sqlite3.connect(tmp_path / "retention.db")
    conn.execute("ALTER TABLE day_marks RENAME TO day_marks_gone")  # every pass now fails with StoreError
    conn.close()
    with caplog.at_level(logging.WARNING, logger="opentrail"):
        assert run_until(services, lambda: "retention pass failed" in caplog.text)
    assert "retention pass failed, will retry: " in caplog.text
