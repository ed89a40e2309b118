"""PostgreSQL backend: several OpenTrail processes may share one database.

Event appends go through one writer thread per store, which takes everything queued (up to
``MAX_GROUP_ROWS`` rows) and copies it into the log in one transaction under the log's advisory lock
(``postgres_events``), so concurrent ingest calls share one commit and no caller's future resolves
before that commit. Event history is built behind the log by ``postgres_history`` (ADR 0010).
Everything else runs on a ``psycopg_pool`` connection in the caller's thread: documents take a
transaction-level advisory lock per (kind, account), so a ``check`` sees every committed document of
the kind and limits hold across processes.

psycopg errors never leave this module: they become ``StoreError`` (the API's retryable error) or
``ConflictError`` (a unique key exists).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from importlib import resources
from typing import Any

import msgspec
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from opentrail.clock import Clock, SystemClock
from opentrail.errors import ConflictError, StoreError
from opentrail.events import EventRow, StoredEvent
from opentrail.store.base import AccessKey, Account, Doc, EventQuery, LogSlice, Store
from opentrail.store.postgres import events as pg_events
from opentrail.store.postgres.history import HistoryIndexer
from opentrail.store.threads import name_os_thread

MAX_GROUP_ROWS = 5000  # DESIGN.md: COPY ~97k rows/s at 5,000 rows a transaction here, ~62k at 100
POOL_SIZE = 8
CONNECT_TIMEOUT_S = 10  # a database that is down answers StoreError after this, never hangs a caller
POOL_TIMEOUT_S = 15.0
MIGRATE_LOCK = 0x6F74_6D69  # advisory lock keys ("otmi", "otpa", "otdo")
PARTITION_LOCK = pg_events.PARTITION_LOCK
DOC_LOCK = 0x6F74_646F
DAY = 86400
# Reads of several statements run in one snapshot: day_spans and the partitions they name agree.
_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("opentrail.store") / "migrations" / "postgres"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


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
        for number, text in _migrations():
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


def _failure(action: str, exc: psycopg.Error) -> StoreError:
    return StoreError(f"{action} the PostgreSQL store failed: {str(exc).strip() or type(exc).__name__}")


class _Task:
    __slots__ = ("future", "rows")

    def __init__(self, rows: list[EventRow]) -> None:
        self.rows = rows
        self.future: Future[None] = Future()


class PostgresStore(Store):
    shared = True

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self.url = url
        self._clock = clock or SystemClock()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                migrate(conn)
        except psycopg.Error as exc:
            raise _failure("opening", exc) from exc
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
            raise _failure("opening", exc) from exc
        self._closed = False
        self._streams: dict[tuple[str, str], int] = {}
        self._stream_names: pg_events.Names = {}  # stream id -> (account, region), never renamed
        self._days: set[int] = set()  # days whose partitions this store knows exist
        self._writer_conn: psycopg.Connection[Any] | None = None
        self._high = 0  # the log's high after this store's last group
        self._history = HistoryIndexer(self._history_connection)
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._run, name="opentrail-pg-writer", daemon=True)
        self._writer.start()

    # -- plumbing ------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._history.close()
        self._pool.close()

    @contextlib.contextmanager
    def _db(self, action: str = "reading") -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection (autocommit); psycopg errors become ``StoreError``."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.OperationalError):
                self._recheck()
            raise _failure(action, exc) from exc

    def _recheck(self) -> None:
        """A connection was cut (the server restarted, the network failed): test the idle ones now and
        replace the broken, so one outage costs one failed call, not one per pooled connection."""
        with contextlib.suppress(psycopg.Error, PoolTimeout):
            self._pool.check()

    def _history_connection(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        _configure(conn)
        return conn

    def _writer_connection(self) -> psycopg.Connection[Any]:
        conn = self._writer_conn
        if conn is None or conn.closed:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
            _configure(conn)
            conn.execute(pg_events.STAGING_SQL)
            self._writer_conn = conn
        return conn

    def _run(self) -> None:
        name_os_thread("ot-pg-write")
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch = [first]
                rows = len(first.rows)
                stop = False
                while rows < MAX_GROUP_ROWS:
                    try:
                        task = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if task is None:
                        stop = True
                        break
                    batch.append(task)
                    rows += len(task.rows)
                self._commit_group(batch)
                if stop:
                    return
                if self._writer_conn is not None:
                    self._history.hold_back(self._writer_conn, self._high)
        finally:
            if self._writer_conn is not None:
                self._writer_conn.close()

    def _commit_group(self, batch: list[_Task]) -> None:
        # A task with a row the log cannot hold (an account that is no account id: a bug upstream)
        # fails alone; other rows lay out whatever they carry.
        ready: list[_Task] = []
        for task in batch:
            try:
                for row in task.rows:
                    pg_events.account_number(row.account)
            except ValueError as exc:
                task.future.set_exception(exc)
            else:
                ready.append(task)
        if not ready:
            return
        day = int(self._clock.now() // DAY)
        try:
            conn = self._writer_connection()
            self._ensure_days(conn, day)
            staged: list[tuple[Any, ...]] = []
            for task in ready:
                for row in task.rows:
                    number = len(staged) + 1
                    staged.append(pg_events.staged(number, self._stream(conn, row.account, row.region), row))
            # Numbers are given out only under the log's lock, in commit order (postgres_events).
            high = pg_events.append_direct(conn, day, staged)
            if high is None:
                with conn.transaction(), conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (pg_events.LOG_LOCK,))
                    found = cur.execute("SELECT high FROM log_state").fetchone()
                    base = int(found[0]) if found else 0
                    self._move(cur, day, base, staged)
                high = base + len(staged)
            self._high = high
        except Exception as exc:
            # The writer must outlive any failed group, or every later caller would wait forever.
            self._days.clear()  # a purge elsewhere may have dropped a partition this store knew
            if self._writer_conn is not None and self._writer_conn.broken:
                self._writer_conn.close()
                self._writer_conn = None
            error = _failure("writing to", exc) if isinstance(exc, psycopg.Error) else exc
            for task in ready:
                task.future.set_exception(error)
            return
        for task in ready:
            task.future.set_result(None)

    @staticmethod
    def _move(
        cur: psycopg.Cursor[Any],
        day: int,
        base: int,
        staged: list[tuple[Any, ...]],
    ) -> None:
        """The staging path, for a group with an identity stored already: COPY into the staging table,
        then MOVE_SQL keeps the first of each identity not stored yet."""
        with cur.copy(pg_events.COPY_EVENTS) as copy:
            copy.set_types(pg_events.EVENT_TYPES)
            for values in staged:
                copy.write_row(values)
        cur.execute(pg_events.MOVE_SQL, {"day": day, "base": base, "count": len(staged)})

    def _ensure_days(self, conn: psycopg.Connection[Any], day: int) -> None:
        """Create the partitions of ``day`` and the day after (ahead of need), unless they exist."""
        for wanted in (day, day + 1):
            if wanted in self._days:
                continue
            found = conn.execute("SELECT to_regclass(%s)", (f"events_d{wanted}",)).fetchone()
            if found is None or found[0] is None:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
                    for statement in pg_events.partition_sql(wanted):
                        conn.execute(statement)
            self._days.add(wanted)

    def _stream(self, conn: psycopg.Connection[Any], account: str, region: str) -> int:
        key = (account, region)
        sid = self._streams.get(key)
        if sid is None:
            # Committed at once (autocommit): a stream with no event yet is harmless, and another
            # process may be creating the same one.
            conn.execute("INSERT INTO streams (account, region) VALUES (%s, %s) ON CONFLICT DO NOTHING", key)
            found = conn.execute("SELECT id FROM streams WHERE account = %s AND region = %s", key).fetchone()
            if found is None:
                raise StoreError(f"stream {account}/{region} vanished while being created")
            sid = self._streams[key] = int(found[0])
        return sid

    def _known_stream(self, conn: psycopg.Connection[Any], account: str, region: str) -> int | None:
        sid = self._streams.get((account, region))
        if sid is None:
            found = conn.execute(
                "SELECT id FROM streams WHERE account = %s AND region = %s", (account, region)
            ).fetchone()
            if found is None:
                return None
            sid = self._streams.setdefault((account, region), int(found[0]))
        return sid

    # -- meta --------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._db() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta_default(self, key: str, value: str) -> str:
        with self._db("writing to") as conn:
            # A concurrent insert of the key makes this one wait, then do nothing; the SELECT (a new
            # snapshot) then sees the winner.
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, value))
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()
        if row is None:
            raise StoreError(f"meta value {key} vanished while being set")
        return str(row[0])

    # -- accounts and keys -----------------------------------------------------------------------
    def add_account(self, account: Account) -> None:
        with self._db("writing to") as conn:
            try:
                conn.execute(
                    "INSERT INTO accounts (account_id, name, created) VALUES (%s, %s, %s)",
                    (account.account_id, account.name, account.created),
                )
            except psycopg.errors.UniqueViolation:
                raise ConflictError(f"account {account.account_id} already exists") from None

    def get_account(self, account_id: str) -> Account | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT account_id, name, created FROM accounts WHERE account_id = %s", (account_id,)
            ).fetchone()
        return None if row is None else Account(*row)

    def list_accounts(self) -> list[Account]:
        with self._db() as conn:
            rows = conn.execute(
                "SELECT account_id, name, created FROM accounts ORDER BY created, account_id"
            ).fetchall()
        return [Account(*row) for row in rows]

    def add_access_key(self, key: AccessKey) -> None:
        with self._db("writing to") as conn:
            try:
                conn.execute(
                    "INSERT INTO access_keys (access_key_id, secret, account_id, user_name, arn, "
                    "principal_id, is_root, created) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (
                        key.access_key_id,
                        key.secret,
                        key.account_id,
                        key.user_name,
                        key.arn,
                        key.principal_id,
                        key.is_root,
                        key.created,
                    ),
                )
            except psycopg.errors.IntegrityError as exc:
                raise ConflictError(f"access key {key.access_key_id} cannot be added: {exc}") from None

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT access_key_id, secret, account_id, user_name, arn, principal_id, is_root, created "
                "FROM access_keys WHERE access_key_id = %s",
                (access_key_id,),
            ).fetchone()
        return None if row is None else AccessKey(*row)

    def add_grant(self, grantee: str, target: str) -> None:
        with self._db("writing to") as conn:
            conn.execute(
                "INSERT INTO grants (grantee, target) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (grantee, target),
            )

    def has_grant(self, grantee: str, target: str) -> bool:
        with self._db() as conn:
            row = conn.execute(
                "SELECT 1 FROM grants WHERE grantee = %s AND target = %s", (grantee, target)
            ).fetchone()
        return row is not None

    # -- buckets -------------------------------------------------------------------------------------
    def add_bucket(self, name: str, account: str) -> None:
        with self._db("writing to") as conn:
            try:
                conn.execute("INSERT INTO buckets (name, account) VALUES (%s, %s)", (name, account))
            except psycopg.errors.UniqueViolation:
                raise ConflictError(f"bucket {name} already exists") from None

    def bucket_owner(self, name: str) -> str | None:
        with self._db() as conn:
            row = conn.execute("SELECT account FROM buckets WHERE name = %s", (name,)).fetchone()
        return None if row is None else str(row[0])

    # -- documents -------------------------------------------------------------------------------------
    @staticmethod
    def _doc(row: tuple[Any, ...]) -> Doc:
        return Doc(row[0], row[1], row[2], row[3], row[4], msgspec.json.decode(row[5]))

    @staticmethod
    def _fetch_docs(conn: psycopg.Connection[Any], kind: str, account: str | None) -> list[Doc]:
        sql = "SELECT kind, account, region, name, arn, body FROM docs WHERE kind = %s"
        args: tuple[str, ...] = (kind,)
        if account is not None:
            sql += " AND account = %s"
            args = (kind, account)
        # COLLATE "C": the byte order SQLite sorts text in, whatever the database's locale.
        order = ' ORDER BY account COLLATE "C", region COLLATE "C", name COLLATE "C"'
        rows = conn.execute(sql + order, args).fetchall()
        return [PostgresStore._doc(row) for row in rows]

    @staticmethod
    def _lock_docs(conn: psycopg.Connection[Any], kind: str, account: str) -> None:
        """Serialise read-modify-writes of one account's docs of a kind, in every process, until commit."""
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (DOC_LOCK, f"{kind}/{account}"))

    def insert_doc(self, doc: Doc, check: Callable[[list[Doc]], None] | None = None) -> Doc:
        with self._db("writing to") as conn, conn.transaction():
            self._lock_docs(conn, doc.kind, doc.account)
            if check is not None:
                check(self._fetch_docs(conn, doc.kind, doc.account))
            try:
                conn.execute(
                    "INSERT INTO docs (kind, account, region, name, arn, body) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    (doc.kind, doc.account, doc.region, doc.name, doc.arn, msgspec.json.encode(doc.body)),
                )
            except psycopg.errors.UniqueViolation:
                raise ConflictError(f"{doc.kind} {doc.arn} already exists") from None
        return doc

    def update_doc(
        self,
        kind: str,
        account: str,
        arn: str,
        change: Callable[[Doc], Doc],
        check: Callable[[list[Doc], Doc], None] | None = None,
    ) -> Doc:
        with self._db("writing to") as conn, conn.transaction():
            self._lock_docs(conn, kind, account)
            row = conn.execute(
                "SELECT kind, account, region, name, arn, body FROM docs "
                "WHERE kind = %s AND account = %s AND arn = %s",
                (kind, account, arn),
            ).fetchone()
            if row is None:
                raise KeyError(arn)
            new = change(self._doc(row))
            if check is not None:
                others = [d for d in self._fetch_docs(conn, kind, account) if d.arn != arn]
                check(others, new)
            try:
                conn.execute(
                    "UPDATE docs SET region = %s, name = %s, arn = %s, body = %s "
                    "WHERE kind = %s AND account = %s AND arn = %s",
                    (new.region, new.name, new.arn, msgspec.json.encode(new.body), kind, account, arn),
                )
            except psycopg.errors.UniqueViolation:
                raise ConflictError(f"{kind} {new.arn} already exists") from None
        return new

    def delete_doc(self, kind: str, account: str, arn: str) -> bool:
        with self._db("writing to") as conn:
            cur = conn.execute(
                "DELETE FROM docs WHERE kind = %s AND account = %s AND arn = %s", (kind, account, arn)
            )
            return cur.rowcount > 0

    def get_doc(self, kind: str, account: str, arn: str) -> Doc | None:
        with self._db() as conn:
            row = conn.execute(
                "SELECT kind, account, region, name, arn, body FROM docs "
                "WHERE kind = %s AND account = %s AND arn = %s",
                (kind, account, arn),
            ).fetchone()
        return None if row is None else self._doc(row)

    def list_docs(self, kind: str, account: str | None = None) -> list[Doc]:
        with self._db() as conn:
            return self._fetch_docs(conn, kind, account)

    # -- events ------------------------------------------------------------------------------------------
    def submit(self, rows: list[EventRow]) -> Future[None]:
        task = _Task(rows)
        if self._closed:
            task.future.set_exception(StoreError("the store is closed"))
        elif not rows:
            task.future.set_result(None)  # nothing to make durable
        else:
            self._queue.put(task)
        return task.future

    def lookup(self, query: EventQuery) -> list[StoredEvent]:
        try:
            pg_events.account_number(query.account)
        except ValueError:
            return []
        with self._db() as conn:
            sid = self._known_stream(conn, query.account, query.region)
            if sid is None:
                return []
            with conn.transaction():
                conn.execute(_SNAPSHOT)
                return pg_events.lookup(conn, sid, query)

    def read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        with self._db() as conn, conn.transaction():
            conn.execute(_SNAPSHOT)
            return pg_events.read_after(conn, seq, limit, self._stream_names)

    def read_log(
        self, account: str, after: int, limit: int, until: int | None = None, region: str | None = None
    ) -> LogSlice:
        with self._db() as conn, conn.transaction():
            conn.execute(_SNAPSHOT)
            return pg_events.read_log(conn, account, after, limit, until, region)

    def purge_ingested_before(self, cutoff: float) -> int:
        """Drop the day partitions wholly before ``cutoff`` (and their events' keys), a day a
        transaction."""
        day = int(cutoff // DAY)
        total = 0
        with self._db("purging") as conn:
            for old in pg_events.partition_days(conn):
                if old >= day:
                    break
                with conn.transaction():
                    total += pg_events.drop_day(conn, old, PARTITION_LOCK)
                self._days.discard(old)
        return total

    def count_events(self, account: str | None = None) -> int:
        with self._db() as conn:
            if account is None:
                row = conn.execute("SELECT count(*) FROM event_keys").fetchone()
            else:
                try:
                    number = pg_events.account_number(account)
                except ValueError:
                    return 0
                row = conn.execute("SELECT count(*) FROM event_keys WHERE acct = %s", (number,)).fetchone()
        return int(row[0]) if row else 0

    def get_event(self, account: str, event_id: str) -> StoredEvent | None:
        try:
            pg_events.account_number(account)
        except ValueError:
            return None
        with self._db() as conn:
            return pg_events.find_event(conn, account, event_id, self._stream_names)
