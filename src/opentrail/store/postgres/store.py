"""PostgreSQL backend: several OpenTrail processes may share one database (ADR 0007).

Event appends go through the store's ``GroupWriter``: its thread takes everything queued (up to
``MAX_GROUP_ROWS`` rows) and copies it into the log in one transaction under the log's advisory lock
(``postgres/append.py``), so concurrent ingest calls share one commit and no caller's future resolves
before that commit. Event history is built behind the log by ``PostgresHistoryIndexer`` (ADR 0010).
Everything else runs on a ``psycopg_pool`` connection in the caller's thread: documents take a
transaction-level advisory lock per (kind, account), so a ``check`` sees every committed document of
the kind and limits hold across processes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from opentrail.clock import Clock, SystemClock
from opentrail.errors import StoreError
from opentrail.events import EventRow, StoredEvent
from opentrail.store.base import EventQuery, LogRow, LogSlice
from opentrail.store.postgres import append as pg_append
from opentrail.store.postgres import events as pg_events
from opentrail.store.postgres.history import PostgresHistoryIndexer
from opentrail.store.postgres.partitions import Partitions
from opentrail.store.sql import Dialect, SQLStore, shipped_migrations
from opentrail.store.writer import GroupWriter, Task

T = TypeVar("T")
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 10  # a database that is down answers StoreError after this, never hangs a caller
POOL_TIMEOUT_S = 15.0
MIGRATE_LOCK = 0x6F74_6D69  # advisory lock keys ("otmi", "otdo")
DOC_LOCK = 0x6F74_646F
DAY = 86400
# Reads of several statements run in one snapshot: day_spans and the partitions they name agree.
_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

POSTGRES = Dialect(
    name="PostgreSQL",
    errors=(psycopg.Error,),
    placeholder="%s",
    collate=' COLLATE "C"',  # the byte order SQLite sorts text in, whatever the database's locale
    unique_errors=(psycopg.errors.UniqueViolation,),
    integrity_errors=(psycopg.errors.IntegrityError,),
)


def migrations() -> list[tuple[int, str]]:
    """The shipped PostgreSQL migrations, oldest first."""
    return shipped_migrations("postgres")


def migrate(conn: psycopg.Connection[Any]) -> int:
    """Apply pending migrations in one transaction; return the schema version now in force. Processes
    starting together take turns (an advisory lock), so each migration runs once."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
        )
        found = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
        version = int(found[0]) if found else 0
        for number, text in migrations():
            if number > version:
                conn.execute(text)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
                version = number
    return version


def _configure(conn: psycopg.Connection[Any]) -> None:
    # No JIT: it compiles a plan for the statements' estimated (not actual) sizes, and a group's MOVE
    # over unanalysed staging tables looked big enough to cost 30 ms of compiling for a 1 ms insert.
    conn.execute("SET jit = off")
    # Acknowledged means durable (DESIGN.md rule 1), whatever the server's default: with
    # synchronous_commit off, COMMIT returns before the commit record is on disk.
    found = conn.execute("SHOW synchronous_commit").fetchone()
    if found is not None and found[0] == "off":
        conn.execute("SET synchronous_commit = on")


class PostgresStore(SQLStore[psycopg.Connection[Any]]):
    shared = True
    driver = POSTGRES

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        super().__init__()
        self.url = url
        self._clock = clock or SystemClock()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            raise self._failure("opening", exc) from exc
        self._pool = ConnectionPool(
            url,
            # A fixed size, all connected before the store is used: the pool connects in background
            # threads (with random jitter), which must not race a caller's first requests.
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
            timeout=POOL_TIMEOUT_S,
            name="opentrail",
            configure=_configure,
            open=True,
        )
        try:
            self._pool.wait(CONNECT_TIMEOUT_S)
        except psycopg.Error as exc:
            self._pool.close()
            raise self._failure("opening", exc) from exc
        self._closed = False
        self._stream_names: pg_events.Names = {}  # stream id -> (account, region), never renamed
        self._partitions = Partitions()
        self._writer_conn: psycopg.Connection[Any] | None = None
        self._issued = 0  # the log's high after this store's last group
        self._history = PostgresHistoryIndexer(self._connect)
        self._writer = GroupWriter(
            "pg",
            self._commit,
            lambda exc: self._failure("writing to", exc),
            self._hold_back,
            self._close_writer,
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        self._history.close()
        self._pool.close()

    def _connect(self) -> psycopg.Connection[Any]:
        """A connection of its own (the writer's, the indexer's), configured as the pool's are."""
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        _configure(conn)
        return conn

    # -- the primitives of the shared SQL -----------------------------------------------------------
    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit)."""
        if self._closed:
            raise StoreError("the store is closed")
        with self._pool.connection() as conn:
            yield conn

    def _driver_failed(self, exc: Exception) -> None:
        """A connection was cut (the server restarted, the network failed): test the idle ones now and
        replace the broken, so one outage costs one failed call, not one per pooled connection."""
        if isinstance(exc, psycopg.OperationalError):
            with contextlib.suppress(psycopg.Error, PoolTimeout):
                self._pool.check()

    def _read(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._connection() as conn:
            return fn(conn)

    def _write(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._connection() as conn:
            return fn(conn)

    def _write_docs(self, kind: str, account: str, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._connection() as conn, conn.transaction():
            # Serialise read-modify-writes of one account's docs of a kind, in every process, until commit.
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (DOC_LOCK, f"{kind}/{account}"))
            return fn(conn)

    def _transact(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        with self._connection() as conn, conn.transaction():
            return fn(conn)

    def _snapshot(self, fn: Callable[[psycopg.Connection[Any]], T]) -> T:
        """``fn`` in one read-only snapshot."""
        with self._connection() as conn, conn.transaction():
            conn.execute(_SNAPSHOT)
            return fn(conn)

    # -- group commit ------------------------------------------------------------------------------
    def _commit(self, group: list[Task]) -> list[Any]:
        day = int(self._clock.now() // DAY)
        try:
            conn = self._writer_connection()
            self._partitions.ensure(conn, day)
            staged: list[tuple[Any, ...]] = []
            for task in group:
                for row in task.rows or ():
                    sid = self._create_stream(conn, row.account, row.region)
                    staged.append(pg_append.staged(len(staged) + 1, sid, row))
            self._issued = pg_append.append(conn, day, staged)
        except Exception:
            self._partitions.forget()
            if self._writer_conn is not None and self._writer_conn.broken:
                self._writer_conn.close()
                self._writer_conn = None
            raise
        return [None] * len(group)

    def _writer_connection(self) -> psycopg.Connection[Any]:
        conn = self._writer_conn
        if conn is None or conn.closed:
            conn = self._connect()
            conn.execute(pg_append.STAGING_SQL)
            self._writer_conn = conn
        return conn

    def _hold_back(self) -> None:
        if self._writer_conn is not None:
            self._history.hold_back(self._writer_conn, self._issued)

    def _close_writer(self) -> None:
        if self._writer_conn is not None:
            self._writer_conn.close()

    # -- the event log ------------------------------------------------------------------------------
    def _submit(self, rows: list[EventRow]) -> Future[None]:
        return self._writer.submit(rows)

    def _lookup(self, query: EventQuery) -> list[StoredEvent]:
        def run(conn: psycopg.Connection[Any]) -> list[StoredEvent]:
            sid = self._stream(conn, query.account, query.region)
            return [] if sid is None else pg_events.lookup(conn, sid, query)

        return self._snapshot(run)

    def _read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        return self._snapshot(lambda conn: pg_events.read_after(conn, seq, limit, self._stream_names))

    def _read_log(
        self, account: str, after: int, limit: int, until: int | None, region: str | None
    ) -> LogSlice:
        return self._snapshot(lambda conn: self._log_slice(conn, account, after, limit, until, region))

    def _high(self, conn: psycopg.Connection[Any]) -> int:
        found = conn.execute("SELECT high FROM log_state").fetchone()
        return int(found[0]) if found else 0

    def _log_rows(
        self, conn: psycopg.Connection[Any], after: int, bound: int, streams: list[int]
    ) -> list[LogRow]:
        return pg_events.log_rows(conn, after, bound, streams)

    def _count_events(self, account: str | None) -> int:
        with self._connection() as conn:
            if account is None:
                row = conn.execute("SELECT count(*) FROM event_keys").fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM event_keys WHERE acct = %s", (int(account),)
                ).fetchone()
        return int(row[0]) if row else 0

    def _get_event(self, account: str, event_id: str) -> StoredEvent | None:
        return self._read(lambda conn: pg_events.find_event(conn, account, event_id, self._stream_names))

    def _purge_ingested_before(self, cutoff: float) -> int:
        """Drop the day partitions wholly before ``cutoff`` (and their events' keys), a day a
        transaction."""
        return self._write(lambda conn: self._partitions.drop_before(conn, int(cutoff // DAY)))
