"""Filling a store with realistic events for bench.lookup: generated in worker processes, loaded with
raw SQL into a fresh database, then indexed by the store's own history consumer."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import random
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from opentrail.events import EventTimes
from opentrail.ingest.records import index_record
from opentrail.store.sqlite import events as sql_events
from opentrail.store.sqlite.history import SCHEMA as HISTORY_SCHEMA
from opentrail.store.sqlite.store import SQLiteStore

from .common import (
    fmt_rate,
    migration_sql,
)
from .records import (
    RecordFactory,
)

MAIN_ACCOUNT = "111122223333"
# (account, region, share of all events): the main stream is what the root credentials look up.
STREAMS = (
    (MAIN_ACCOUNT, "us-east-1", 0.50),
    (MAIN_ACCOUNT, "eu-west-1", 0.12),
    (MAIN_ACCOUNT, "ap-southeast-2", 0.03),
    ("444455556666", "us-east-1", 0.15),
    ("444455556666", "eu-west-1", 0.08),
    ("444455556666", "ap-southeast-2", 0.02),
    ("777788889999", "us-east-1", 0.06),
    ("777788889999", "eu-west-1", 0.03),
    ("777788889999", "ap-southeast-2", 0.01),
)
GROUP = 5000


def generate(
    total: int, first_epoch: int, last_epoch: int, seed: int = 42
) -> Iterator[list[tuple[str, bytes]]]:
    """Groups of (account, raw record), event times rising from ``first_epoch`` to ``last_epoch``
    (CloudTrail delivers roughly in time order)."""
    rng = random.Random(seed)
    factory = RecordFactory(seed)
    cum = []
    acc = 0.0
    for _, _, share in STREAMS:
        acc += share
        cum.append(acc)
    span = last_epoch - first_epoch
    for low in range(0, total, GROUP):
        group = []
        for i in range(low, min(total, low + GROUP)):
            x = rng.random() * acc
            account, region, _ = next(s for s, c in zip(STREAMS, cum, strict=True) if x <= c)
            epoch = first_epoch + span * i // total
            group.append((account, factory.record(account, region, epoch)))
        yield group


def _produce(total: int, first_epoch: int, last_epoch: int, out: Any) -> None:
    for group in generate(total, first_epoch, last_epoch):
        out.put(group)
    out.put(None)


def load(db_path: Path, total: int, first_epoch: int, last_epoch: int) -> float:
    """Write ``total`` events through the store at ``db_path``; returns events/s of the whole load
    (acknowledged rows; history is still catching up when this returns).

    A forked process generates records while this one indexes them and the store's writer commits.
    """
    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=4)
    producer = ctx.Process(target=_produce, args=(total, first_epoch, last_epoch, queue), daemon=True)
    producer.start()
    store = SQLiteStore(str(db_path))
    started = time.perf_counter()
    pending: list[Future[None]] = []
    done = 0
    times = EventTimes()  # as the server's ingest remembers eventTimes
    try:
        while (group := queue.get()) is not None:
            rows = [index_record(raw, account, times) for account, raw in group]
            # One group in flight while the next is indexed: each commit still holds 5,000 rows.
            pending.append(store.submit(rows))
            if len(pending) > 1:
                pending.pop(0).result()
            done += len(rows)
            if done % 200_000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  loaded {done:>9,} events ({fmt_rate(rate)} events/s)", flush=True)
        for future in pending:
            future.result()
        rate = total / (time.perf_counter() - started)
        await_history(store)
    finally:
        store.close()
        producer.join()
    return rate


def await_history(store: SQLiteStore, timeout_s: float = 3600) -> tuple[int, float]:
    """Wait until the store's ``HistoryIndexer`` covers every stored event (``history_cursor`` at the
    highest sequence number); return (that sequence number, seconds waited)."""
    started = time.perf_counter()
    conn = store._reader()  # the log with the history file attached, as lookups read it
    reported = started
    while True:
        cursor, high = sql_events.history_cursor(conn), sql_events.high_seq(conn)
        waited = time.perf_counter() - started
        if cursor >= high:
            return high, waited
        if waited > timeout_s:
            raise RuntimeError(f"history stuck at {cursor:,} of {high:,} after {waited:.0f} s")
        if time.perf_counter() - reported > 10:
            reported = time.perf_counter()
            print(f"  history at {cursor:>9,} of {high:,} events", flush=True)
        time.sleep(0.2)


def schema_digest() -> str:
    """A kept data dir is reused only if it was loaded under the same migrations."""
    return hashlib.sha256("\n".join([*migration_sql(), HISTORY_SCHEMA]).encode()).hexdigest()[:16]
