"""Ingest throughput of the stores: events/s through ``Store.append`` on PostgreSQL and on SQLite, and a
raw PostgreSQL COPY of the same rows, in one run; then LookupEvents latency on PostgreSQL with the same
rows spread over ``--days`` ingestion days (one partition each, event times in their day).

A throwaway PostgreSQL cluster (``tests/support/postgres.py``, fsync on: acknowledged means durable) is
started in a temp dir, or ``--url`` names an existing database (a fresh schema is made in it). The
records (``RecordFactory``, ~1.2 KB) are built and indexed before the clock starts; ``--clients``
threads then append batches of ``--batch`` rows each, waiting for each batch to be durable, so the
stores group concurrent batches into shared commits. The baseline COPYs the same row values into a
plain table of the log's columns (no partitions, no indexes, no dedupe), 5,000 rows a transaction.

    python -m bench.postgres [--events 200000] [--clients 8] [--batch 100] [--days 30] [--url postgresql://...]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import psycopg

from opentrail.clock import FixedClock
from opentrail.events import EventRow, Kind
from opentrail.ingest.records import index_record
from opentrail.store import EventQuery, open_store
from opentrail.store.postgres import append as pg_append

from .common import (
    fmt_rate,
    free_port,
    median,
    percentile,
    remove_dir,
)
from .records import (
    RecordFactory,
)

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")


def make_rows(count: int) -> list[EventRow]:
    factory = RecordFactory(seed=5)
    now = int(time.time())
    rows: list[EventRow] = []
    for i in range(count):
        account, region = ACCOUNTS[i % 3], REGIONS[i % 2]
        rows.append(index_record(factory.record(account, region, now - (count - i) // 100), account))
    return rows


def through_store(url: str, rows: list[EventRow], clients: int, batch: int) -> float:
    store = open_store(url)
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(store.append, batches))
        elapsed = time.perf_counter() - started
        assert store.count_events() == len(rows)
    finally:
        store.close()
    return len(rows) / elapsed


def raw_copy(url: str, rows: list[EventRow], per_txn: int = 5000) -> float:
    staged = [pg_append.staged(i + 1, 1 + i % 6, row) for i, row in enumerate(rows)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(pg_append.STAGING_SQL)
        conn.execute("CREATE TABLE raw_events AS SELECT * FROM staging WITH NO DATA")
        started = time.perf_counter()
        for low in range(0, len(staged), per_txn):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY raw_events FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(pg_append.EVENT_TYPES)
                for values in staged[low : low + per_txn]:
                    copy.write_row(values)
        return len(rows) / (time.perf_counter() - started)


def lookups(url: str, rows: list[EventRow], days: int, calls: int = 200) -> None:
    """Load ``rows`` over ``days`` ingestion days, then time first pages of each lookup attribute."""
    day = 86400
    clock = FixedClock(time.time() - days * day)
    store = open_store(url, clock)
    try:
        per_day = -(-len(rows) // days)
        for d in range(days):
            start_ms = int(clock.now() * 1000)
            part = [
                msgspec.structs.replace(row, time_ms=start_ms + i * (day * 1000 // per_day))
                for i, row in enumerate(rows[d * per_day : (d + 1) * per_day])
            ]
            for low in range(0, len(part), 5000):
                store.append(part[low : low + 5000])
            clock.advance(day)
        # As bench.lookup does for SQLite: lookups are timed on the indexed path, once history has
        # caught up with the log (ADR 0010); the catch-up after the load is reported.
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                found = conn.execute(
                    "SELECT (SELECT high FROM log_state) - cursor FROM history_state"
                ).fetchone()
                if found is None or found[0] <= 0 or time.perf_counter() - started > 600:
                    break
                time.sleep(0.05)
        print(f"    history caught up {time.perf_counter() - started:.1f} s after the load ended")
        sample = rows[len(rows) // 2]
        values = {
            None: None,
            "EventName": sample.event_name,
            "EventSource": sample.event_source,
            "Username": sample.username,
            "AccessKeyId": sample.access_key_id,
            "ReadOnly": "true",
            "EventId": sample.event_id,
            "ResourceName": next(
                (
                    name
                    for row in rows[len(rows) // 2 :]
                    if row.account == sample.account and row.region == sample.region
                    for _, name in row.resources
                    if name
                ),
                None,
            ),
        }
        for attribute, value in values.items():
            if attribute is not None and value is None:
                continue
            query = EventQuery(sample.account, sample.region, Kind.MANAGEMENT, 0, 2**62, 50, attribute, value)
            times = []
            for _ in range(calls):
                started = time.perf_counter()
                found = store.lookup(query)
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"    {attribute or '(none)':<13} {len(found):>3} events  median {median(times):6.2f} ms  "
                f"p99 {percentile(times, 99):6.2f} ms"
            )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events to append [200000]")
    parser.add_argument("--clients", type=int, default=8, help="threads appending at once [8]")
    parser.add_argument("--batch", type=int, default=100, help="rows per append [100]")
    parser.add_argument("--days", type=int, default=30, help="ingestion days for the lookup phase [30]")
    parser.add_argument("--url", help="an existing PostgreSQL database (default: a throwaway cluster)")
    opts = parser.parse_args()

    cluster = None
    if opts.url is None:
        from tests.support.postgres import PostgresCluster  # run from the repository root, as documented

        cluster = PostgresCluster(free_port())
        cluster.start(durable=True)
        base = cluster.url()
    else:
        base = opts.url
    tmp = Path(tempfile.mkdtemp(prefix="opentrail-bench-pg-"))
    print(
        f"OpenTrail store ingest: {os.cpu_count()} cores, {opts.events:,} events, "
        f"{opts.clients} clients x {opts.batch}-row appends"
    )
    try:
        rows = make_rows(opts.events)
        schemas = []
        for name in ("bench_store", "bench_copy", "bench_lookup"):
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
                conn.execute(f"CREATE SCHEMA {name}")
            sep = "&" if "?" in base else "?"
            schemas.append(f"{base}{sep}options=-csearch_path%3D{name}")
        pg = through_store(schemas[0], rows, opts.clients, opts.batch)
        print(f"  PostgreSQL store   {fmt_rate(pg):>10} events/s  (group commit, COPY + advisory lock)")
        lite = through_store(f"sqlite:///{tmp / 'bench.db'}", rows, opts.clients, opts.batch)
        print(f"  SQLite store       {fmt_rate(lite):>10} events/s")
        raw = raw_copy(schemas[1], rows)
        print(f"  raw PostgreSQL COPY {fmt_rate(raw):>9} events/s  (plain table, 5,000 rows a transaction)")
        print(
            f"  LookupEvents on PostgreSQL, first page of 50, {opts.events:,} events over {opts.days} days:"
        )
        lookups(schemas[2], rows, opts.days)
        with psycopg.connect(base, autocommit=True) as conn:
            for name in ("bench_store", "bench_copy", "bench_lookup"):
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    finally:
        if cluster is not None:
            cluster.stop()
        remove_dir(tmp)


if __name__ == "__main__":
    main()
