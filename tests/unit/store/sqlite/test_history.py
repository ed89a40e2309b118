"""SQLite event history as a consumer of the log: lookups give the same answers whether history has
indexed the events yet or not, after a version-1 database is migrated, and after the history file is
lost. Expected answers are computed here from the records themselves, not by the store."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from opentrail.events import EventRow, Kind
from opentrail.ingest.records import index_record
from opentrail.store import EventQuery
from opentrail.store.sqlite import history
from opentrail.store.sqlite.store import SQLiteStore, connect
from tests.support.server import ROOT

ACCOUNT = "111122223333"
T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
NAMES = ["RunInstances", "DescribeInstances", "PutObject", "CreateTrail"]
SOURCES = ["ec2.amazonaws.com", "s3.amazonaws.com", "cloudtrail.amazonaws.com"]
USERS = ["alice", "bob", None]
BUCKETS = ["arn:aws:s3:::logs", "arn:aws:s3:::data", "arn:aws:s3:::web"]


def make_record(n: int, rng: random.Random) -> dict[str, Any]:
    user = rng.choice(USERS)
    identity: dict[str, Any] = {"type": "IAMUser" if user else "AWSService", "accessKeyId": f"AKIA{n % 5}"}
    if user:
        identity["userName"] = user
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + rng.randrange(3600))),
        "eventSource": rng.choice(SOURCES),
        "eventName": rng.choice(NAMES),
        "awsRegion": rng.choice(["us-east-1", "us-east-1", "eu-west-1"]),
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": rng.random() < 0.5,
        "eventCategory": rng.choice(["Management", "Management", "Management", "Data"]),
    }
    if rng.random() < 0.4:
        picked = rng.sample(BUCKETS, rng.randint(1, 2))
        record["resources"] = [{"type": "AWS::S3::Bucket", "ARN": arn} for arn in picked]
    return record


@pytest.fixture
def records() -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [make_record(n, rng) for n in range(600)]


def rows_of(records: list[dict[str, Any]]) -> list[EventRow]:
    return [index_record(json.dumps(r).encode(), ACCOUNT) for r in records]


def matches(record: dict[str, Any], attribute: str | None, value: str) -> bool:
    """LookupEvents' rule for one attribute, written from the record's JSON."""
    identity = record["userIdentity"]
    resources = record.get("resources", [])
    rules: dict[str | None, bool] = {
        None: True,
        "EventName": record["eventName"] == value,
        "EventSource": record["eventSource"] == value,
        "Username": identity.get("userName") == value,
        "AccessKeyId": identity.get("accessKeyId") == value,
        "ReadOnly": str(record["readOnly"]).lower() == value,
        "EventId": record["eventID"] == value,
        "ResourceType": any(r["type"] == value for r in resources),
        "ResourceName": any(r["ARN"] == value for r in resources),
    }
    return rules[attribute]


QUERIES: list[tuple[str | None, str]] = [
    (None, ""),
    ("EventName", "PutObject"),
    ("EventSource", "ec2.amazonaws.com"),
    ("Username", "alice"),
    ("AccessKeyId", "AKIA3"),
    ("ReadOnly", "true"),
    ("ReadOnly", "false"),
    ("EventId", "00000000-0000-4000-8000-000000000123"),
    ("ResourceType", "AWS::S3::Bucket"),
    ("ResourceName", "arn:aws:s3:::web"),
    ("EventName", "NoSuchEvent"),
]


def expected(
    records: list[dict[str, Any]], region: str, kind: Kind, attribute: str | None, value: str
) -> list[str]:
    category = "Management" if kind is Kind.MANAGEMENT else "Data"
    chosen = [
        (r["eventTime"], seq, r["eventID"])
        for seq, r in enumerate(records)
        if r["awsRegion"] == region and r["eventCategory"] == category and matches(r, attribute, value)
    ]
    return [event_id for _, _, event_id in sorted(chosen, reverse=True)]


def answers(store: SQLiteStore, region: str, kind: Kind, attribute: str | None, value: str) -> list[str]:
    """Every page of a lookup, 7 events per page, following the (time, seq) cursor."""
    found: list[str] = []
    before: tuple[int, int] | None = None
    while True:
        page = store.lookup(EventQuery(ACCOUNT, region, kind, 0, 2**53, 7, attribute, value or None, before))
        found += [event.row.event_id for event in page]
        if len(page) < 7:
            return found
        before = (page[-1].row.time_ms, page[-1].seq)


def check_all(store: SQLiteStore, records: list[dict[str, Any]]) -> None:
    for region in ("us-east-1", "eu-west-1"):
        for kind in (Kind.MANAGEMENT, Kind.DATA):
            for attribute, value in QUERIES:
                want = expected(records, region, kind, attribute, value)
                assert answers(store, region, kind, attribute, value) == want, (region, kind, attribute)
    for record in records[::37]:
        found = store.get_event(ACCOUNT, record["eventID"])
        assert found is not None
        assert json.loads(found.row.record) == record


def history_state(path: Path) -> tuple[int, int]:
    """(history cursor, highest sequence in the log), read from the files."""
    conn = sqlite3.connect(history.history_path(str(path)))
    try:
        cursor = int(conn.execute("SELECT seq FROM history_cursor").fetchone()[0])
    finally:
        conn.close()
    log = sqlite3.connect(path)
    try:
        high = int(log.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])
    finally:
        log.close()
    return cursor, high


def wait_indexed(path: Path) -> None:
    deadline = time.monotonic() + 20
    while (state := history_state(path))[0] < state[1]:
        assert time.monotonic() < deadline, f"history stuck at {state}"
        time.sleep(0.05)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "opentrail.db"


def test_lookups_agree_before_and_after_history_catches_up(
    db: Path, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An indexer that waits an hour: every answer below comes from the log rows above its cursor.
    monkeypatch.setattr(history, "INDEX_DELAY_S", 3600.0)
    store = SQLiteStore(str(db))
    try:
        store.append(rows_of(records[:300]))
        store.append(rows_of(records[300:]))
        assert history_state(db) == (0, 600)
        check_all(store, records)
    finally:
        store.close()
    # A normal indexer covers everything; the same answers now come from history.
    monkeypatch.setattr(history, "INDEX_DELAY_S", 0.05)
    store = SQLiteStore(str(db))
    try:
        wait_indexed(db)
        check_all(store, records)
    finally:
        store.close()


def test_half_indexed_history_and_the_log_tail_merge(
    db: Path, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "INDEX_DELAY_S", 0.05)
    store = SQLiteStore(str(db))
    try:
        store.append(rows_of(records[:350]))
        wait_indexed(db)
    finally:
        store.close()
    monkeypatch.setattr(history, "INDEX_DELAY_S", 3600.0)
    store = SQLiteStore(str(db))
    try:
        store.append(rows_of(records[350:]))
        assert history_state(db) == (350, 600)
        check_all(store, records)
    finally:
        store.close()


def test_a_lost_history_file_is_rebuilt_from_the_log(
    db: Path, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "INDEX_DELAY_S", 0.05)
    store = SQLiteStore(str(db))
    try:
        store.append(rows_of(records))
        wait_indexed(db)
    finally:
        store.close()
    for suffix in ("", "-wal", "-shm"):
        Path(history.history_path(str(db)) + suffix).unlink(missing_ok=True)
    store = SQLiteStore(str(db))
    try:
        check_all(store, records)  # from the log while the rebuild runs
        wait_indexed(db)
        check_all(store, records)
    finally:
        store.close()


V1_EVENT = (
    "INSERT INTO events (seq, stream, acct, kind, time, event_id, event_name, event_source, read_only, "
    "username, access_key, record) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
)


def test_a_version_1_database_migrates_with_its_history(
    db: Path, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Version 1 kept history as indexes on ``events`` and resources in ``event_attrs``."""
    folder = ROOT / "src/opentrail/store/migrations/sqlite"
    conn = connect(str(db))
    conn.executescript(
        f"BEGIN;\n{(folder / '0001_initial.sql').read_text()}\nPRAGMA user_version=1;\nCOMMIT;"
    )
    streams = {"us-east-1": 1, "eu-west-1": 2}
    conn.executemany(
        "INSERT INTO streams (id, account, region) VALUES (?, ?, ?)",
        [(sid, ACCOUNT, region) for region, sid in streams.items()],
    )
    conn.execute("INSERT INTO day_marks (day, first_seq) VALUES (?, 1)", (T0 // 86400,))
    for seq, row in enumerate(rows_of(records), start=1):
        sid = streams[row.region]
        ro = None if row.read_only is None else int(row.read_only)
        conn.execute(
            V1_EVENT,
            (
                seq,
                sid,
                int(ACCOUNT),
                int(row.kind),
                row.time_ms,
                row.event_id,
                row.event_name,
                row.event_source,
                ro,
                row.username,
                row.access_key_id,
                row.record,
            ),
        )
        attrs = {(1, t) for t, _ in row.resources if t} | {(2, n) for _, n in row.resources if n}
        conn.executemany(
            "INSERT INTO event_attrs (stream, kind, attr, value, time, seq) VALUES (?,?,?,?,?,?)",
            [(sid, int(row.kind), attr, value, row.time_ms, seq) for attr, value in attrs],
        )
    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", (len(records),))
    conn.close()
    monkeypatch.setattr(history, "INDEX_DELAY_S", 0.05)
    store = SQLiteStore(str(db))
    try:
        check_all(store, records)
        wait_indexed(db)
        check_all(store, records)
        store.append(rows_of(records[:5]))  # retries of migrated events are still recognised
        assert store.count_events() == len(records)
        # Resources are rebuilt from the records, paired as ingest reads them (lookups show them).
        expected = {row.event_id: list(row.resources) for row in rows_of(records)}
        stored = {e.row.event_id: list(e.row.resources) for e in store.read_after(0, len(records))}
        assert stored == expected
        assert any(len(pairs) > 1 for pairs in expected.values())
    finally:
        store.close()


def test_ingest_waits_for_history_that_falls_too_far_behind(
    db: Path, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the indexer's timer at an hour and no full batch to nudge it, only the writer's back-pressure
    can wake it: history must never fall more than MAX_LAG (+ one group) behind the log."""
    monkeypatch.setattr(history, "INDEX_DELAY_S", 3600.0)
    monkeypatch.setattr(history, "MAX_LAG", 100)
    store = SQLiteStore(str(db))
    try:
        for low in range(0, 600, 60):
            store.append(rows_of(records[low : low + 60]))
            cursor, high = history_state(db)
            assert high - cursor <= 100 + 60, (cursor, high)
        assert history_state(db)[0] > 0
        check_all(store, records)
    finally:
        store.close()
