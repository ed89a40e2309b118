"""SQLite backend: one writer thread with group commit, reads on per-thread connections (ADR 0003).

Every write goes through the store's ``GroupWriter``: its thread runs everything a group holds (up to
``MAX_GROUP_ROWS`` event rows, and any document, account or meta writes) in a single
``BEGIN IMMEDIATE`` transaction and commits once, so concurrent ingest calls share one fsync; no
caller's future resolves before that commit. WAL mode lets readers run beside the writer. Event history
is built behind the log by ``SQLiteHistoryIndexer``, in a file of its own (ADR 0006).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from opentrail.clock import Clock, SystemClock
from opentrail.events import EventRow, StoredEvent
from opentrail.store.base import EventQuery, LogRow, LogSlice
from opentrail.store.sql import Dialect, SQLStore, shipped_migrations
from opentrail.store.sqlite import events as sql_events
from opentrail.store.sqlite.history import INDEX_BATCH, SQLiteHistoryIndexer, attach_history, purge_below
from opentrail.store.writer import GroupWriter, Task

T = TypeVar("T")
WAL_CHECKPOINT_BYTES = 64 * 2**20

SQLITE = Dialect(
    name="SQLite",
    errors=(sqlite3.Error,),
    placeholder="?",
    collate="",  # SQLite compares text byte by byte already
    unique_errors=(sqlite3.IntegrityError,),
    integrity_errors=(sqlite3.IntegrityError,),
)


def migrations() -> list[tuple[int, str]]:
    """The shipped SQLite migrations, oldest first."""
    return shipped_migrations("sqlite")


def connect(path: str) -> sqlite3.Connection:
    # 512 prepared statements: the writer's multi-row INSERTs come in up to 250 sizes.
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=30, cached_statements=512
    )
    # 16 KB pages for a new file (no effect on an existing one): a group commit writes ~1.3 KB an event
    # to the WAL, in a quarter of the frames and syscalls 4 KB pages take.
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before any caller is told its events are accepted.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; return the schema version now in force."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    for number, sql in migrations():
        if number > version:
            conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")
            version = number
    return version


class SQLiteStore(SQLStore[sqlite3.Connection]):
    driver = SQLITE

    def __init__(self, path: str, clock: Clock | None = None) -> None:
        super().__init__()
        self.path = path
        self._clock = clock or SystemClock()
        self._marked_day = -1
        self._local = threading.local()
        with self._guard("opening"):
            self._conn = connect(path)
            migrate(self._conn)  # creates the file, so its page size is known below
            # Checkpoint every 64 MB of WAL instead of SQLite's default 1,000 pages. Each group commit
            # rewrites hundreds of index pages (the eventID index is keyed at random); the default
            # copied them back into the database after nearly every commit, a second write of each
            # page. bench.ingest: about +30% events/s. Durability is unchanged: every commit still
            # fsyncs the WAL.
            page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
            self._conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
            for sid, account, region in self._conn.execute("SELECT id, account, region FROM streams"):
                self._stream_ids[(account, region)] = sid
            self._history = SQLiteHistoryIndexer(path)
            self._issued = sql_events.high_seq(self._conn)  # the last sequence number given out
        self._unindexed = 0  # rows committed since the indexer was last nudged
        self._closed = False
        self._writer = GroupWriter(
            "sqlite",
            self._commit,
            lambda exc: self._failure("writing to", exc),
            after=lambda: self._history.hold_back(self._issued),
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._history.close()
        self._conn.close()

    # -- the primitives of the shared SQL -----------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            attach_history(conn, self.path)
            self._local.conn = conn
        return conn

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._reader())

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self._writer.call(fn).result()

    def _write_docs(self, kind: str, account: str, fn: Callable[[sqlite3.Connection], T]) -> T:
        # The one writer runs every check and write in turn: nothing else can slip in between.
        return self._write(fn)

    def _transact(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        # The writer runs it in a savepoint of a group's transaction: the group's one commit is its commit.
        return self._write(fn)

    # -- group commit ------------------------------------------------------------------------------
    def _commit(self, group: list[Task]) -> list[Any]:
        """Commit a group in one transaction: each function in a savepoint of its own (one that raises
        is rolled back alone and fails only its caller), then every event row."""
        conn = self._conn
        results: list[Any] = []
        created: list[tuple[str, str]] = []
        rows: list[EventRow] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for task in group:
                if task.rows is not None:
                    rows.extend(task.rows)
                    results.append(None)
                else:
                    assert task.fn is not None  # noqa: S101 - a task carries rows or a function
                    results.append(self._run_task(conn, task.fn))
            if rows:
                self._mark_day(conn)
                keyed = [(self._new_stream(conn, row, created), row) for row in rows]
                self._issued = sql_events.insert_events(conn, keyed)
            conn.execute("COMMIT")
        except Exception:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._forget_streams(created)
            self._marked_day = -1  # the day mark rolled back with the group: write it with the next one
            raise
        self._unindexed += len(rows)
        if self._unindexed >= INDEX_BATCH:  # a full pass is ready: no need to wait for the timer
            self._unindexed = 0
            self._history.nudge()
        return results

    @staticmethod
    def _run_task(conn: sqlite3.Connection, fn: Callable[[Any], Any]) -> Any:
        """``fn``'s result, or the exception it raised after its savepoint was rolled back."""
        conn.execute("SAVEPOINT task")
        try:
            result = fn(conn)
        except Exception as exc:  # it fails its own caller only: the rest of the group commits
            conn.execute("ROLLBACK TO task")
            conn.execute("RELEASE task")
            return exc
        conn.execute("RELEASE task")
        return result

    def _new_stream(self, conn: sqlite3.Connection, row: EventRow, created: list[tuple[str, str]]) -> int:
        sid = self._stream_ids.get((row.account, row.region))
        if sid is None:
            created.append((row.account, row.region))  # forgotten again if the group rolls back
            sid = self._create_stream(conn, row.account, row.region)
        return sid

    def _mark_day(self, conn: sqlite3.Connection) -> None:
        """Remember the first sequence number of each ingestion day (retention cuts at these marks)."""
        day = int(self._clock.now() // 86400)
        if day != self._marked_day:
            next_seq = sql_events.next_seq(conn)
            conn.execute("INSERT OR IGNORE INTO day_marks (day, first_seq) VALUES (?, ?)", (day, next_seq))
            self._marked_day = day

    # -- the event log ------------------------------------------------------------------------------
    def _submit(self, rows: list[EventRow]) -> Future[None]:
        return self._writer.submit(rows)

    def _lookup(self, query: EventQuery) -> list[StoredEvent]:
        conn = self._reader()
        sid = self._stream(conn, query.account, query.region)
        return [] if sid is None else sql_events.lookup(conn, sid, query)

    def _read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        return sql_events.read_after(self._reader(), seq, limit)

    def _read_log(
        self, account: str, after: int, limit: int, until: int | None, region: str | None
    ) -> LogSlice:
        return self._log_slice(self._reader(), account, after, limit, until, region)

    def _high(self, conn: sqlite3.Connection) -> int:
        return sql_events.high_seq(conn)

    def _log_rows(self, conn: sqlite3.Connection, after: int, bound: int, streams: list[int]) -> list[LogRow]:
        return sql_events.log_rows(conn, after, bound, streams)

    def _count_events(self, account: str | None) -> int:
        conn = self._reader()
        if account is None:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        return int(conn.execute("SELECT count(*) FROM events WHERE acct = ?", (int(account),)).fetchone()[0])

    def _get_event(self, account: str, event_id: str) -> StoredEvent | None:
        return sql_events.find_event(self._reader(), account, event_id)

    def _purge_ingested_before(self, cutoff: float, chunk: int = 10_000) -> int:
        day = int(cutoff // 86400)
        # Everything below the first sequence number of the cutoff day or later was ingested on
        # earlier days; with no such day, every event was.
        row = (
            self._reader()
            .execute("SELECT first_seq FROM day_marks WHERE day >= ? ORDER BY day LIMIT 1", (day,))
            .fetchone()
        )
        if row is None:
            row = self._reader().execute("SELECT max(seq) + 1 FROM events").fetchone()
        if row is None or row[0] is None:
            return 0
        limit_seq = int(row[0])

        def run(conn: sqlite3.Connection) -> int:
            # Small transactions keep the single writer free for ingest between chunks.
            top = conn.execute(
                "SELECT max(seq) FROM (SELECT seq FROM events WHERE seq < ? ORDER BY seq LIMIT ?)",
                (limit_seq, chunk),
            ).fetchone()[0]
            if top is None:
                return 0
            return int(conn.execute("DELETE FROM events WHERE seq <= ?", (top,)).rowcount)

        total = 0
        while (removed := self._write(run)) > 0:
            total += removed
        self._write(lambda conn: conn.execute("DELETE FROM day_marks WHERE day < ?", (day,)))
        if total:
            # One pass over the history file: only when events went. Entries a crash left behind
            # point at no event (lookups join on the log) and go with the next purge.
            purge_below(self.path, limit_seq)
        return total
