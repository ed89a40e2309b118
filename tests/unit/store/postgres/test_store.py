"""What the PostgreSQL store promises beyond the shared contract (``tests/contract/store/`` runs
that): several processes appending to one log while consumers never skip an event, versioned
migrations, lookups across day partitions, and a database that goes away reported as ``StoreError``.
Day partitions and numbering have tests of their own (``test_partitions.py``, ``test_append.py``).
Everything runs against a real throwaway cluster (``tests/support/postgres.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opentrail.clock import FixedClock
from opentrail.errors import StoreError
from opentrail.events import EventRow, Kind
from opentrail.ingest.records import index_record
from opentrail.store import EventQuery, Store, open_store, redacted
from opentrail.store.postgres import partitions as pg_partitions
from opentrail.store.postgres import store as pg_store
from tests.support.server import OPENTRAIL, ROOT, free_port
from tests.support.store import ACCOUNTS, everything, record, rows

DAY = 86400
START = 100 * DAY + 3600
WAIT = 60


# A writer in a process of its own: another node appending to the same log.
WRITER = """
import json, sys
from opentrail.ingest.records import index_record
from opentrail.store import open_store
url, name, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(url)
def record(event_id):
    return json.dumps({"eventVersion": "1.11", "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
        "eventID": event_id, "eventCategory": "Management"}).encode()
futures = []
for b in range(batches):
    batch = [index_record(record(f"{name}-{b}-{i}"), "111111111111") for i in range(1 + b % 7)]
    futures.append(store.submit(batch))
for future in futures:
    future.result(60)
store.close()
"""


class Consumer(threading.Thread):
    """Reads forward with ``read(cursor) -> (next cursor, event ids)`` until ``done`` is set and a page
    comes back empty; ``seen`` holds every id in the order read."""

    def __init__(self, read: Callable[[int], tuple[int, list[str]]], done: threading.Event) -> None:
        super().__init__()
        self.read, self.done = read, done
        self.seen: list[str] = []

    def run(self) -> None:
        cursor = 0
        while True:
            finished = self.done.is_set()  # read before the page, so the last page is taken after the end
            cursor, page = self.read(cursor)
            self.seen.extend(page)
            if not page and finished:
                return


def test_writers_in_several_processes_and_stores_never_make_a_consumer_skip(url: str) -> None:
    """DESIGN.md rule 3: transactions of different writers (threads, stores, processes) commit in any
    order; a consumer reading forward with a cursor must still see every event exactly once."""
    stores = [open_store(url) for _ in range(3)]
    done = threading.Event()

    def forward(cursor: int) -> tuple[int, list[str]]:
        page = stores[0].read_after(cursor, 150)
        return (page[-1].seq if page else cursor), [e.row.event_id for e in page]

    def account_log(cursor: int) -> tuple[int, list[str]]:
        part = stores[1].read_log(ACCOUNTS[0], cursor, 150)
        return part.last, [json.loads(r[6])["eventID"] for r in part.rows]

    def write(w: int) -> None:
        store = stores[w % len(stores)]
        futures = [store.submit(rows(f"t{w}-{b}", 1 + (b * w) % 13)) for b in range(40)]
        for future in futures:
            future.result(WAIT)

    by_read_after, by_read_log = Consumer(forward, done), Consumer(account_log, done)
    for consumer in (by_read_after, by_read_log):
        consumer.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"p{p}", "150"], env=env) for p in range(2)]
    try:
        with ThreadPoolExecutor(6) as pool:
            list(pool.map(write, range(6)))
        for proc in procs:
            assert proc.wait(WAIT) == 0
        done.set()
        for consumer in (by_read_after, by_read_log):
            consumer.join(WAIT)
            assert not consumer.is_alive()
        stored = everything(stores[2])
        seqs = [e.seq for e in stored]
        assert seqs == sorted(set(seqs))
        expected = sum(1 + (b * w) % 13 for w in range(6) for b in range(40))
        expected += 2 * sum(1 + b % 7 for b in range(150))
        assert len(stored) == len({e.row.event_id for e in stored}) == expected
        assert stores[2].count_events() == expected
        assert by_read_after.seen == [e.row.event_id for e in stored]
        assert by_read_log.seen == [e.row.event_id for e in stored if e.row.account == ACCOUNTS[0]]
    finally:
        done.set()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for store in stores:
            store.close()


def test_migrations_are_versioned_and_applied_once_by_concurrent_processes(url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENTRAIL_")}
    env.update(OPENTRAIL_DATABASE_URL=url, OPENTRAIL_DATA_DIR=str(tmp_path))
    procs = [
        subprocess.Popen([*OPENTRAIL, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
        assert b"is up to date" in out
    with psycopg.connect(url) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    shipped = sorted(
        int(p.name.split("_", 1)[0]) for p in (ROOT / "src/opentrail/store/migrations/postgres").glob("*.sql")
    )
    assert versions == shipped
    env["OPENTRAIL_DATABASE_URL"] = url.replace("postgres@", "postgres:hunter2@")  # trust ignores it
    again = subprocess.run([*OPENTRAIL, "migrate"], env=env, capture_output=True, text=True, timeout=WAIT)
    assert again.returncode == 0, again.stderr
    assert "postgres:***@" in again.stdout
    assert "hunter2" not in again.stdout + again.stderr  # a password in the URL is never printed
    store = open_store(url)  # opening an up-to-date database applies nothing
    store.close()
    with psycopg.connect(url) as conn:
        assert [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")] == shipped


def test_an_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="PostgreSQL"):
        open_store(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2")


def test_lost_connections_are_store_errors_and_the_store_recovers(url: str, postgres_cluster: Any) -> None:
    """Every connection of the store is cut (as by a database restart): calls fail with StoreError
    until the pool and the writer have connected again, never with a psycopg error."""
    store: Store = open_store(url)
    try:
        store.append(rows("before", 2))
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        errors = 0
        for _ in range(2 * 8 + 2):  # every pooled connection was cut, and the writer's
            try:
                store.get_meta("k")
            except StoreError:
                errors += 1
        with pytest.raises(StoreError):
            store.append(rows("cut", 1))
        assert errors >= 1
        store.append(rows("after", 2))
        assert store.set_meta_default("k", "v") == "v"
        assert sorted(e.row.event_id for e in store.read_after(0, 10)) == [
            "after-0",
            "after-1",
            "before-0",
            "before-1",
        ]
    finally:
        store.close()


def _at(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def test_lookups_merge_day_partitions_newest_first_whatever_days_hold(url: str) -> None:
    """Lookups read the day partitions whose event times reach furthest first and stop early; pages
    must still be exactly the newest first order over all days: live days, a day replaying old
    events, days whose event times interleave."""
    clock = FixedClock(START)
    store = open_store(url, clock)
    base = 1_714_564_800  # event times, in seconds
    plan = [
        range(0, 40, 2),  # day 100: live
        range(100, 130),  # day 101: later
        range(-5000, -4990),  # day 102: a replay of old events
        range(1, 41, 2),  # day 103: interleaves with day 100
        range(125, 128),  # day 104: ties with day 101's times
    ]
    try:
        for day, seconds in enumerate(plan):
            batch = []
            for i, second in enumerate(seconds):
                raw = json.loads(record(f"d{day}-{i}"))
                raw["eventTime"] = _at(base + second)
                raw["eventName"] = "Even" if i % 2 == 0 else "Odd"
                raw["resources"] = [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::b{i % 3}"}]
                batch.append(index_record(json.dumps(raw).encode(), ACCOUNTS[0]))
            store.append(batch)
            clock.advance(DAY)
        everything = store.read_after(0, 1000)
        for attribute, value, keep in [
            (None, None, lambda e: True),
            ("EventName", "Odd", lambda e: e.row.event_name == "Odd"),
            ("ResourceName", "arn:aws:s3:::b1", lambda e: e.row.resources[0][1] == "arn:aws:s3:::b1"),
        ]:
            expected = sorted(
                (e for e in everything if keep(e)), key=lambda e: (e.row.time_ms, e.seq), reverse=True
            )
            for limit in (1, 3, 7, 50):
                seen: list[int] = []
                before = None
                while True:
                    query = EventQuery(
                        ACCOUNTS[0], "us-east-1", Kind.MANAGEMENT, 0, 2**62, limit, attribute, value, before
                    )
                    page = store.lookup(query)
                    seen += [e.seq for e in page]
                    if len(page) < limit:
                        break
                    before = (page[-1].row.time_ms, page[-1].seq)
                assert seen == [e.seq for e in expected], (attribute, limit)
            window = EventQuery(
                ACCOUNTS[0], "us-east-1", Kind.MANAGEMENT, (base + 20) * 1000, (base + 110) * 1000, 50,
                attribute, value,
            )  # fmt: skip
            in_window = [
                e.seq for e in expected if (base + 20) * 1000 <= e.row.time_ms <= (base + 110) * 1000
            ]
            assert [e.seq for e in store.lookup(window)] == in_window
    finally:
        store.close()


def test_commits_are_durable_even_where_the_server_defaults_to_asynchronous_commit(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(f'ALTER DATABASE "{database[0]}" SET synchronous_commit = off')
    try:
        store = open_store(url)
        try:
            with store._pool.connection() as conn:  # the setting every store connection runs with
                assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
            store.append(rows("a", 1))
        finally:
            store.close()
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database[0]}" RESET synchronous_commit')


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:s3cr%40t@h:5432/db?x=1", "postgresql://u:***@h:5432/db?x=1"),
        (
            "postgresql://u@h/db?sslmode=require&password=pw",
            "postgresql://u@h/db?sslmode=require&password=***",
        ),
        ("postgresql://h/db", "postgresql://h/db"),
        ("sqlite:///var/lib/opentrail.db", "sqlite:///var/lib/opentrail.db"),
    ],
)
def test_a_database_url_is_printed_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown


def _version_3_database(url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at schema version 3 holding six events, three writes and three reads."""
    shipped = pg_store.migrations()
    monkeypatch.setattr(pg_store, "migrations", lambda: [m for m in shipped if m[0] <= 3])
    # Version 3 has no history table (version 5): its days have partitions of the log only.
    partition_sql = pg_partitions.partition_sql
    monkeypatch.setattr(
        pg_partitions, "partition_sql", lambda day: partition_sql(day, ("events", "event_attrs"))
    )
    old = open_store(url, clock)

    def flagged(prefix: str, read_only: bool) -> list[EventRow]:
        flag = b'"Management", "readOnly": ' + (b"true" if read_only else b"false")
        return [
            index_record(record(f"{prefix}-{i}").replace(b'"Management"', flag), ACCOUNTS[0])
            for i in range(3)
        ]

    try:
        old.append(rows("a", 6))
        old.append(flagged("w", False) + flagged("r", True))
    finally:
        old.close()
    monkeypatch.undo()


def test_a_version_3_database_migrates_to_history_and_answers_the_same(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0004 drops event_keys' day index, and 0005 moves the lookup indexes from the log to
    history, filled with the rows stored before it: those rows answer the same lookups, and retention
    still forgets their identities."""
    clock = FixedClock(START)
    _version_3_database(url, clock, monkeypatch)

    def ids(store: Store, attribute: str | None, value: str | None) -> list[str]:
        query = EventQuery(ACCOUNTS[0], "us-east-1", Kind.MANAGEMENT, 0, 2**53, 50, attribute, value)
        return sorted(e.row.event_id for e in store.lookup(query))

    def indexes(conn: psycopg.Connection[Any], table: str) -> dict[str, str]:
        return dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,)))

    store = open_store(url, clock)
    try:
        with psycopg.connect(url) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
            log, keys, history = (
                indexes(conn, "events"),
                indexes(conn, "event_keys"),
                indexes(conn, "history"),
            )
            cursor = conn.execute("SELECT cursor FROM history_state").fetchone()
        assert versions == [n for n, _ in pg_store.migrations()]
        # Version 5 moved the lookup indexes to history, and history took the rows stored before it.
        assert sorted(log) == ["events_pkey"]
        assert "read_only = 0" in history["history_writes"]
        assert "IS NOT NULL" in history["history_name"]
        assert cursor == (12,)
        assert list(keys) == ["event_keys_pkey"]
        store.append(rows("b", 2))  # after the migration: b-0 is the first account's
        every = ["a-0", "a-2", "a-4", "b-0", "r-0", "r-1", "r-2", "w-0", "w-1", "w-2"]
        assert ids(store, None, None) == every
        assert ids(store, "ReadOnly", "false") == ["w-0", "w-1", "w-2"]
        assert ids(store, "ReadOnly", "true") == ["r-0", "r-1", "r-2"]
        assert ids(store, "ReadOnly", "maybe") == []
        assert ids(store, "EventName", "GetObject") == every
        assert ids(store, "EventId", "w-1") == ["w-1"]
        clock.advance(2 * DAY)
        assert store.purge_ingested_before(clock.now()) == 14
        assert store.count_events() == 0
        store.append(rows("a", 1))  # its identity went with its day: stored again
        assert store.count_events() == 1
    finally:
        store.close()
