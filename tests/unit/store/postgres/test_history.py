"""PostgreSQL event history as a consumer of the log (ADR 0010): lookups merge history below its cursor
with the log above it, the lag stays bounded, and indexers of several stores share the work without
indexing an event twice."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest

from opentrail.clock import FixedClock
from opentrail.events import EventRow, Kind
from opentrail.ingest.records import index_record
from opentrail.store import EventQuery, Store, open_store
from opentrail.store.postgres import history as pg_history

DAY = 86400
START = 100 * DAY + 3600
ACCOUNT = "111111111111"
T0 = 1_714_564_800  # 2024-05-01T12:00:00Z


def record(event_id: str, second: int, name: str, read_only: bool) -> bytes:
    return json.dumps(
        {
            "eventVersion": "1.11",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + second)),
            "eventSource": "s3.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "eventID": event_id,
            "readOnly": read_only,
            "eventCategory": "Management",
            "userIdentity": {"type": "IAMUser", "userName": f"user-{second % 3}"},
            "resources": [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::b{second % 5}"}]
            if second % 2
            else [],
        }
    ).encode()


def batch(prefix: str, seconds: range) -> list[EventRow]:
    return [
        index_record(
            record(f"{prefix}-{s}", s, "PutObject" if s % 4 == 0 else "GetObject", s % 4 != 0), ACCOUNT
        )
        for s in seconds
    ]


def state(url: str) -> tuple[int, int, int]:
    """(history cursor, log high, history rows)."""
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT (SELECT cursor FROM history_state), (SELECT high FROM log_state), "
            "(SELECT count(*) FROM history)"
        ).fetchone()
    assert found is not None
    return int(found[0]), int(found[1]), int(found[2])


def every_page(store: Store, attribute: str | None, value: str | None, limit: int) -> list[str]:
    """Every page of a lookup, newest first, following the (time, seq) cursor."""
    out: list[str] = []
    before = None
    while True:
        query = EventQuery(ACCOUNT, "us-east-1", Kind.MANAGEMENT, 0, 2**53, limit, attribute, value, before)
        page = store.lookup(query)
        out += [e.row.event_id for e in page]
        if len(page) < limit:
            return out
        before = (page[-1].row.time_ms, page[-1].seq)


def expected(rows: list[EventRow], keep: Any) -> list[str]:
    """The ids newest first (time, then sequence: rows are appended in order)."""
    numbered = [(r.time_ms, i, r.event_id) for i, r in enumerate(rows) if keep(r)]
    return [event_id for _, _, event_id in sorted(numbered, reverse=True)]


def test_lookups_merge_history_with_the_log_above_its_cursor(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_history, "INDEX_DELAY_S", 3600.0)  # passes only when this test runs them
    store = open_store(url, FixedClock(START))
    try:
        # Older events indexed, newer ones (and some older by event time) above the cursor.
        indexed = batch("old", range(0, 40))
        store.append(indexed)
        with psycopg.connect(url, autocommit=True) as conn:
            assert pg_history.index_pass(conn) == (40, 40)
        fresh = batch("new", range(20, 70))
        store.append(fresh)
        cursor, high, entries = state(url)
        assert (cursor, high, entries) == (40, 90, 40)
        every = indexed + fresh
        for limit in (7, 50):
            assert every_page(store, None, None, limit) == expected(every, lambda r: True)
            assert every_page(store, "EventName", "PutObject", limit) == expected(
                every, lambda r: r.event_name == "PutObject"
            )
            assert every_page(store, "ReadOnly", "false", limit) == expected(every, lambda r: not r.read_only)
            assert every_page(store, "ReadOnly", "true", limit) == expected(every, lambda r: r.read_only)
            assert every_page(store, "Username", "user-1", limit) == expected(
                every, lambda r: r.username == "user-1"
            )
            assert every_page(store, "ResourceName", "arn:aws:s3:::b3", limit) == expected(
                every, lambda r: ("AWS::S3::Bucket", "arn:aws:s3:::b3") in r.resources
            )
            assert every_page(store, "ResourceType", "AWS::S3::Bucket", limit) == expected(
                every, lambda r: bool(r.resources)
            )
        # Indexing the rest changes no answer.
        with psycopg.connect(url, autocommit=True) as conn:
            assert pg_history.index_pass(conn) == (90, 90)
        assert state(url) == (90, 90, 90)
        assert every_page(store, "EventName", "PutObject", 7) == expected(
            every, lambda r: r.event_name == "PutObject"
        )
        assert every_page(store, "ResourceName", "arn:aws:s3:::b3", 7) == expected(
            every, lambda r: ("AWS::S3::Bucket", "arn:aws:s3:::b3") in r.resources
        )
    finally:
        store.close()


def test_history_catches_up_by_itself_and_ingest_waits_while_it_is_far_behind(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_history, "INDEX_BATCH", 20)
    monkeypatch.setattr(pg_history, "MAX_LAG", 60)
    store = open_store(url, FixedClock(START))
    try:
        worst = 0
        for b in range(12):
            store.append(batch(f"b{b}", range(b * 25, b * 25 + 25)))
            cursor, high, _ = state(url)
            worst = max(worst, high - cursor)
        # A writer that finds history more than MAX_LAG behind after a commit waits until it is half
        # that: history is never more than MAX_LAG plus one group (25) behind.
        assert worst <= 60 + 25
        deadline = time.monotonic() + 30
        while state(url)[0] < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state(url) == (300, 300, 300)
    finally:
        store.close()


def test_indexers_of_several_stores_index_each_event_once(url: str) -> None:
    stores = [open_store(url, FixedClock(START)) for _ in range(3)]
    try:
        for b in range(30):
            stores[b % 3].append(batch(f"s{b}", range(b * 10, b * 10 + 10)))
        deadline = time.monotonic() + 30
        while state(url)[0] < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        with psycopg.connect(url) as conn:
            found = conn.execute(
                "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM history"
            ).fetchone()
        assert found == (300, 300, 1, 300)
    finally:
        for store in stores:
            store.close()


def test_data_events_stay_out_of_history(url: str) -> None:
    """Neither history nor resource attributes hold data events: LookupEvents never asks for them."""
    data = json.loads(record("d-1", 1, "GetObject", True))  # odd seconds name a bucket
    assert data["resources"]
    data.update(eventCategory="Data", managementEvent=False)
    store = open_store(url, FixedClock(START))
    try:
        store.append([index_record(json.dumps(data).encode(), ACCOUNT), *batch("m", range(2, 4))])  # m-3 too
        deadline = time.monotonic() + 30
        while state(url)[0] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state(url) == (3, 3, 2)
        with psycopg.connect(url) as conn:
            kinds = conn.execute("SELECT DISTINCT kind FROM event_attrs ORDER BY 1").fetchall()
        assert kinds == [(int(Kind.MANAGEMENT),)]
    finally:
        store.close()


def test_indexing_while_days_are_created_never_deadlocks(
    url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A pass of the indexer and a writer creating a day's partitions lock the same parents in different
    orders; the partition lock makes them take turns (a deadlock was seen in bench.postgres)."""
    monkeypatch.setattr(pg_history, "INDEX_DELAY_S", 0.0)
    clock = FixedClock(START)
    store = open_store(url, clock)
    try:
        for day in range(12):
            for part in range(4):
                store.append(batch(f"d{day}-{part}", range(part * 50, part * 50 + 50)))
            clock.advance(DAY)
        deadline = time.monotonic() + 30
        while state(url)[0] < 12 * 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state(url) == (2400, 2400, 2400)
    finally:
        store.close()
    assert not [r for r in caplog.records if "deadlock" in r.getMessage()]
