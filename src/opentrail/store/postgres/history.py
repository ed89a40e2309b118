"""Event history for the PostgreSQL store: a consumer of the event log (ADR 0010).

An ingest call commits the log (``events``) and each event's identity, and waits for nothing else.
``history`` (the lookup columns of management and Insights events, with the lookup indexes) and
``event_attrs`` (their resource types and names) are filled behind ``history_state.cursor`` by
``PostgresHistoryIndexer``: a thread per store, with a
connection of its own, whose passes run on a backend of their own (one ``INSERT ... SELECT``, and a
COPY of the resource attributes, read out of the rows' resources here), so another core builds history
while groups commit. One indexer works at a time across every process sharing the
database (a transaction-level advisory lock each pass; the others find it taken and wait for the next
pass). A pass writes entries and cursor in one transaction, so a crash leaves the cursor where the
entries end.

Lookups read the cursor, then history and the log above the cursor, in one snapshot
(``postgres/events.py``): the lag (about ``INDEX_DELAY_S`` after a commit) is never
visible. Ingest waits while history is more than ``MAX_LAG`` events behind (``hold_back``), so what a
lookup scans above the cursor stays bounded.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from opentrail.store.log import decode_resources
from opentrail.store.postgres.events import RESOURCE_NAME, RESOURCE_TYPE
from opentrail.store.postgres.partitions import PARTITION_LOCK
from opentrail.store.threads import name_os_thread

log = logging.getLogger(__name__)

HISTORY_LOCK = 0x6F74_6869  # pg_try_advisory_xact_lock key of the indexer ("othi")
INDEX_BATCH = 50_000  # events per pass at most; a full pass is started as soon as it is ready
INDEX_DELAY_S = 0.25  # a pass waits this long after a commit, for more commits to index with it
# Ingest waits while history is this many events behind, until it is half as far behind (or for at
# most LAG_WAIT_S: history catches up when it can).
MAX_LAG = 100_000
LAG_WAIT_S = 10.0
RETRY_S = 1.0  # after a failed pass (database down), the next one waits this long
IDLE_S = 2.0  # with nothing nudging it, a pass this often (other processes append too)

INDEX_SQL = """
INSERT INTO history (day, stream, kind, time, seq, event_name, event_source, username, access_key, read_only)
SELECT day, stream, kind, time, seq, event_name, event_source, username, access_key, read_only
FROM events WHERE day = ANY(%(days)s) AND seq > %(low)s AND seq <= %(high)s AND kind IN (0, 2)
"""


RESOURCES_SQL = """
SELECT day, stream, kind, time, seq, resources FROM events
WHERE day = ANY(%(days)s) AND seq > %(low)s AND seq <= %(high)s AND kind IN (0, 2) AND resources IS NOT NULL
"""
COPY_ATTRS = "COPY event_attrs (day, stream, kind, attr, value, time, seq) FROM STDIN (FORMAT BINARY)"
ATTR_TYPES = ["int4", "int4", "int2", "int2", "bytea", "int8", "int8"]


def attributes(resources: bytes) -> list[tuple[int, bytes]]:
    """The distinct (attribute, value) lookup entries of a row's resources (``staged``'s JSON pairs)."""
    found: set[tuple[int, bytes]] = set()
    for kind, name in decode_resources(resources):
        if kind is not None:
            found.add((RESOURCE_TYPE, kind.encode()))
        if name is not None:
            found.add((RESOURCE_NAME, name.encode()))
    return sorted(found)


def history_cursor(conn: psycopg.Connection[Any]) -> int:
    found = conn.execute("SELECT cursor FROM history_state").fetchone()
    return int(found[0]) if found else 0


def index_pass(conn: psycopg.Connection[Any], batch: int = INDEX_BATCH) -> tuple[int, int] | None:
    """Index up to ``batch`` events above the cursor; return (cursor, log high) after the pass, or None
    when another process's indexer holds the lock.

    ``high`` is read before the rows, in a statement of its own: an append's number is visible only
    once it and every lower one have committed (``postgres/append.py``), so the pass's statement, whose
    snapshot is later, sees every row up to it."""
    with conn.transaction():
        taken = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (HISTORY_LOCK,)).fetchone()
        if not taken or not taken[0]:
            return None
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (PARTITION_LOCK,))
        cursor = history_cursor(conn)
        found = conn.execute("SELECT high FROM log_state").fetchone()
        high = int(found[0]) if found else 0
        upper = min(high, cursor + batch)
        if upper <= cursor:
            return cursor, high
        days = [
            int(day)
            for (day,) in conn.execute(
                "SELECT day FROM day_spans WHERE last_seq > %s AND first_seq <= %s", (cursor, upper)
            )
        ]
        if days:
            bounds = {"days": days, "low": cursor, "high": upper}
            conn.execute(INDEX_SQL, bounds)
            with conn.cursor() as cur:
                rows = cur.execute(RESOURCES_SQL, bounds).fetchall()
                if rows:
                    with cur.copy(COPY_ATTRS) as copy:
                        copy.set_types(ATTR_TYPES)
                        for day, stream, kind, time_ms, seq, resources in rows:
                            for attr, value in attributes(bytes(resources)):
                                copy.write_row((day, stream, kind, attr, value, time_ms, seq))
        conn.execute("UPDATE history_state SET cursor = %s", (upper,))
        return upper, high


class PostgresHistoryIndexer:
    """The store's indexing thread. After this store's writer commits (``nudge``), it lets more commits
    gather for ``INDEX_DELAY_S`` and runs a pass, passes back to back while full batches wait; with
    nothing to do it sleeps, looking every ``IDLE_S`` for what other processes appended."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._connect = connect
        self._conn: psycopg.Connection[Any] | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.cursor = 0  # the last cursor this process saw (its own passes, or hold_back's reads)
        self._thread = threading.Thread(target=self._run, name="opentrail-pg-history", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        name_os_thread("ot-pg-history")
        try:
            while not self._stop.is_set():
                self._wake.wait(IDLE_S)
                if self._stop.wait(INDEX_DELAY_S):
                    return
                self._wake.clear()
                while (delay := self._pass()) == 0.0 and not self._stop.is_set():
                    pass
                if delay == RETRY_S and self._stop.wait(RETRY_S):
                    return
        finally:
            if self._conn is not None:
                self._conn.close()

    def _pass(self) -> float:
        """One pass; 0 when a full batch is waiting, else how long the next may wait."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            done = index_pass(self._conn)
        except psycopg.Error as exc:
            log.warning("indexing event history failed (retrying): %s", str(exc).strip())
            if self._conn is not None and self._conn.broken:
                self._conn.close()
                self._conn = None
            return RETRY_S
        if done is None:  # another process indexes
            return INDEX_DELAY_S
        self.cursor, high = done
        return 0.0 if high - self.cursor >= INDEX_BATCH else INDEX_DELAY_S

    def hold_back(self, conn: psycopg.Connection[Any], high: int) -> None:
        """Called by the log's writer after a commit that took the log to ``high``: a pass soon, and a
        wait while history is more than ``MAX_LAG`` events behind, until it is half that (or
        ``LAG_WAIT_S`` passed)."""
        self._wake.set()
        if high - self.cursor <= MAX_LAG:
            return
        deadline = time.monotonic() + LAG_WAIT_S
        with contextlib.suppress(psycopg.Error):
            while time.monotonic() < deadline:
                # Another process's indexer may be the one moving the cursor.
                self.cursor = max(self.cursor, history_cursor(conn))
                if high - self.cursor <= MAX_LAG // 2:
                    return
                time.sleep(0.02)
