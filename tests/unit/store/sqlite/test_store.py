"""The SQLite store beyond the shared contract: event history keeps OPENTRAIL_RETENTION_DAYS of
ingestion; older days are dropped whole, from the log and from the history file."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from opentrail.clock import FixedClock
from opentrail.ingest.records import index_record
from opentrail.store.sqlite.history import history_path
from opentrail.store.sqlite.store import SQLiteStore

DAY = 86400.0


def history_seqs(db: Path) -> set[int]:
    """The events the history file indexes, once the indexer has caught up with the log."""
    deadline = time.monotonic() + 20
    conn = sqlite3.connect(db)
    conn.execute("ATTACH DATABASE ? AS hist", (history_path(str(db)),))
    try:
        while True:
            cursor = conn.execute("SELECT seq FROM history_cursor").fetchone()[0]
            high = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            if cursor >= high:
                return {row[0] for row in conn.execute("SELECT DISTINCT seq FROM history")}
            assert time.monotonic() < deadline, "history did not catch up"
            time.sleep(0.05)
    finally:
        conn.close()


def _record(n: int) -> bytes:
    return json.dumps(
        {
            "eventVersion": "1.08",
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "awsRegion": "us-east-1",
            "eventID": f"00000000-0000-4000-8000-{n:012d}",
        }
    ).encode()


def test_purge_drops_days_before_cutoff_and_keeps_the_rest(tmp_path: Path) -> None:
    clock = FixedClock(100 * DAY + 3600)
    store = SQLiteStore(str(tmp_path / "db.sqlite"), clock)
    try:
        store.append([index_record(_record(n), "111111111111") for n in range(10)])
        clock.advance(DAY)
        store.append([index_record(_record(n), "111111111111") for n in range(10, 15)])
        clock.advance(DAY)
        store.append([index_record(_record(n), "111111111111") for n in range(15, 17)])

        assert store.purge_ingested_before(100 * DAY) == 0  # nothing ingested before day 100
        assert store.count_events() == 17
        assert store.purge_ingested_before(101 * DAY + 5) == 10  # day 100 dropped, day 101 kept
        assert store.get_event("111111111111", "00000000-0000-4000-8000-000000000000") is None
        assert store.get_event("111111111111", "00000000-0000-4000-8000-000000000010") is not None
        assert store.purge_ingested_before(102 * DAY) == 5
        assert store.count_events() == 2
        assert history_seqs(tmp_path / "db.sqlite") == {16, 17}  # history of purged events went too
    finally:
        store.close()
