"""The PostgreSQL log's day partitions: created ahead of need by the writer, dropped whole by retention,
each day once when several servers purge at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from opentrail.clock import FixedClock
from opentrail.store import open_store
from tests.support.store import rows

DAY = 86400
START = 100 * DAY + 3600


def partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'events'::regclass ORDER BY 1"
        ).fetchall()
    return [name for (name,) in found]


def test_the_log_is_partitioned_by_ingestion_day_and_retention_drops_partitions(url: str) -> None:
    clock = FixedClock(START)
    store = open_store(url, clock)
    try:
        store.append(rows("a", 4))
        assert partitions(url) == ["events_d100", "events_d101"]  # today's, and tomorrow's ahead
        clock.advance(DAY)
        store.append(rows("b", 3))
        clock.advance(DAY)
        store.append(rows("c", 2))
        assert partitions(url) == ["events_d100", "events_d101", "events_d102", "events_d103"]
        assert store.purge_ingested_before(102 * DAY) == 7
        assert partitions(url) == ["events_d102", "events_d103"]
        assert [e.row.event_id for e in store.read_after(0, 100)] == ["c-0", "c-1"]
        assert store.count_events() == 2
        store.append(rows("a", 1))  # its identity went with its day: stored again
        assert store.count_events() == 3
    finally:
        store.close()


def test_servers_purging_at_once_drop_each_day_once(url: str) -> None:
    clock = FixedClock(START)
    stores = [open_store(url, clock) for _ in range(3)]
    try:
        for day in range(4):
            stores[day % 3].append(rows(f"d{day}", 5))
            clock.advance(DAY)
        with ThreadPoolExecutor(3) as pool:
            removed = list(pool.map(lambda s: s.purge_ingested_before(103 * DAY), stores))
        assert sum(removed) == 15
        assert partitions(url) == ["events_d103", "events_d104"]
        assert [e.row.event_id for e in stores[0].read_after(0, 100)] == [f"d3-{i}" for i in range(5)]
    finally:
        for store in stores:
            store.close()
