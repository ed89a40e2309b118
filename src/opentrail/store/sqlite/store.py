"""SQLite backend: one writer thread with group commit, reads on per-thread connections.

Every write goes through one queue to one thread. The thread takes everything queued (up to
``MAX_GROUP_ROWS`` event rows), runs it in a single ``BEGIN IMMEDIATE`` transaction and commits once,
so concurrent ingest calls share one fsync; no caller's future resolves before that commit. WAL mode
lets readers run beside the writer.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from importlib import resources
from typing import Any, TypeVar

import msgspec

from opentrail.clock import Clock, SystemClock
from opentrail.errors import ConflictError, StoreError
from opentrail.events import EventRow, StoredEvent
from opentrail.store.base import AccessKey, Account, Doc, EventQuery, LogSlice, Store
from opentrail.store.sqlite import events as sql_events
from opentrail.store.sqlite.history import INDEX_BATCH, HistoryIndexer, attach_history, purge_below
from opentrail.store.threads import name_os_thread

T = TypeVar("T")
MAX_GROUP_ROWS = 5000
WAL_CHECKPOINT_BYTES = 64 * 2**20


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("opentrail.store") / "migrations" / "sqlite"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


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
    for number, sql in _migrations():
        if number > version:
            conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version={number};\nCOMMIT;")
            version = number
    return version


class _Task:
    __slots__ = ("fn", "future", "rows")

    def __init__(self, rows: list[EventRow] | None, fn: Callable[[sqlite3.Connection], Any] | None) -> None:
        self.rows = rows
        self.fn = fn
        self.future: Future[Any] = Future()


class SQLiteStore(Store):
    def __init__(self, path: str, clock: Clock | None = None) -> None:
        self.path = path
        self._clock = clock or SystemClock()
        self._marked_day = -1
        self._conn = connect(path)
        # Checkpoint every 64 MB of WAL instead of SQLite's default 1,000 pages. Each group
        # commit rewrites hundreds of index pages (the eventID index is keyed at random); the default
        # copied them back into the database after nearly every commit, a second write of each page.
        # bench.ingest: about +30% events/s. Durability is unchanged: every commit still fsyncs the WAL.
        migrate(self._conn)  # creates the file, so its page size is known below
        page_size = int(self._conn.execute("PRAGMA page_size").fetchone()[0])
        self._conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
        self._local = threading.local()
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._streams: dict[tuple[str, str], int] = {}
        self._stream_names: dict[int, tuple[str, str]] = {}
        for sid, account, region in self._conn.execute("SELECT id, account, region FROM streams"):
            self._streams[(account, region)] = sid
            self._stream_names[sid] = (account, region)
        self._closed = False
        self._history = HistoryIndexer(path)
        self._unindexed = 0  # rows committed since the indexer was last nudged
        self._high = sql_events.high_seq(self._conn)  # the last sequence number given out
        self._writer = threading.Thread(target=self._run, name="opentrail-sqlite-writer", daemon=True)
        self._writer.start()

    # -- plumbing ------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join()
        self._history.close()
        self._conn.close()

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            attach_history(conn, self.path)
            self._local.conn = conn
        return conn

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._reader()
        except sqlite3.Error as exc:
            raise StoreError(f"reading the SQLite store failed: {exc}") from exc

    def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        task = _Task(None, fn)
        self._queue.put(task)
        result: T = task.future.result()
        return result

    def _run(self) -> None:
        name_os_thread("ot-sqlite-write")
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            rows = len(first.rows or ())
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
                rows += len(task.rows or ())
            self._commit_group(batch)
            if stop:
                return
            self._history.hold_back(self._high)

    def _commit_group(self, batch: list[_Task]) -> None:
        conn = self._conn
        results: list[Any] = []
        new_streams: list[tuple[tuple[str, str], int]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            rows: list[EventRow] = []
            for task in batch:
                if task.rows is not None:
                    rows.extend(task.rows)
                    results.append(None)
                    continue
                assert task.fn is not None  # noqa: S101 - a task carries rows or a function
                conn.execute("SAVEPOINT task")
                try:
                    results.append(task.fn(conn))
                    conn.execute("RELEASE task")
                except Exception as exc:
                    conn.execute("ROLLBACK TO task")
                    conn.execute("RELEASE task")
                    results.append(exc)
            if rows:
                self._insert_events(conn, rows, new_streams)
            conn.execute("COMMIT")
            self._unindexed += len(rows)
            if self._unindexed >= INDEX_BATCH:  # a full pass is ready: no need to wait for the timer
                self._unindexed = 0
                self._history.nudge()
        except Exception as exc:
            # The writer must outlive any failed group: if it died, every later caller would wait
            # forever. sqlite3 errors become StoreError; anything else (a malformed row) goes back as is.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            for key, sid in new_streams:
                self._streams.pop(key, None)
                self._stream_names.pop(sid, None)
            self._marked_day = -1  # the day mark rolled back with the group: write it with the next one
            error = (
                StoreError(f"writing to the SQLite store failed: {exc}")
                if isinstance(exc, sqlite3.Error)
                else exc
            )
            for task in batch:
                task.future.set_exception(error)
            return
        for task, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                task.future.set_exception(result)
            else:
                task.future.set_result(result)

    def _stream_id(
        self, conn: sqlite3.Connection, account: str, region: str, created: list[tuple[tuple[str, str], int]]
    ) -> int:
        key = (account, region)
        sid = self._streams.get(key)
        if sid is None:
            # Another store on the same file (a second process) may have created the stream already.
            conn.execute("INSERT OR IGNORE INTO streams (account, region) VALUES (?, ?)", key)
            sid = int(
                conn.execute("SELECT id FROM streams WHERE account = ? AND region = ?", key).fetchone()[0]
            )
            self._streams[key] = sid
            self._stream_names[sid] = key
            created.append((key, sid))
        return sid

    def _mark_day(self, conn: sqlite3.Connection) -> None:
        """Remember the first sequence number of each ingestion day (retention cuts at these marks)."""
        day = int(self._clock.now() // 86400)
        if day != self._marked_day:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            next_seq = (row[0] if row else 0) + 1
            conn.execute("INSERT OR IGNORE INTO day_marks (day, first_seq) VALUES (?, ?)", (day, next_seq))
            self._marked_day = day

    def _insert_events(
        self, conn: sqlite3.Connection, rows: list[EventRow], created: list[tuple[tuple[str, str], int]]
    ) -> None:
        self._mark_day(conn)
        keyed = [(self._stream_id(conn, row.account, row.region, created), row) for row in rows]
        self._high = sql_events.insert_events(conn, keyed)

    # -- meta --------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._reading() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta_default(self, key: str, value: str) -> str:
        def run(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return str(conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

        return self._call(run)

    # -- accounts and keys -----------------------------------------------------------------------
    def add_account(self, account: Account) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO accounts (account_id, name, created) VALUES (?, ?, ?)",
                    (account.account_id, account.name, account.created),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"account {account.account_id} already exists") from None

        self._call(run)

    def get_account(self, account_id: str) -> Account | None:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT account_id, name, created FROM accounts WHERE account_id = ?", (account_id,)
            ).fetchone()
        return None if row is None else Account(*row)

    def list_accounts(self) -> list[Account]:
        with self._reading() as conn:
            rows = conn.execute("SELECT account_id, name, created FROM accounts ORDER BY created").fetchall()
        return [Account(*row) for row in rows]

    def add_access_key(self, key: AccessKey) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO access_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key.access_key_id,
                        key.secret,
                        key.account_id,
                        key.user_name,
                        key.arn,
                        key.principal_id,
                        int(key.is_root),
                        key.created,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise ConflictError(f"access key {key.access_key_id} cannot be added: {exc}") from None

        self._call(run)

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT access_key_id, secret, account_id, user_name, arn, principal_id, is_root, created "
                "FROM access_keys WHERE access_key_id = ?",
                (access_key_id,),
            ).fetchone()
        if row is None:
            return None
        return AccessKey(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7])

    def add_grant(self, grantee: str, target: str) -> None:
        self._call(lambda conn: conn.execute("INSERT OR IGNORE INTO grants VALUES (?, ?)", (grantee, target)))

    def has_grant(self, grantee: str, target: str) -> bool:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT 1 FROM grants WHERE grantee = ? AND target = ?", (grantee, target)
            ).fetchone()
        return row is not None

    # -- buckets -------------------------------------------------------------------------------------
    def add_bucket(self, name: str, account: str) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute("INSERT INTO buckets (name, account) VALUES (?, ?)", (name, account))
            except sqlite3.IntegrityError:
                raise ConflictError(f"bucket {name} already exists") from None

        self._call(run)

    def bucket_owner(self, name: str) -> str | None:
        with self._reading() as conn:
            row = conn.execute("SELECT account FROM buckets WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    # -- documents -------------------------------------------------------------------------------------
    @staticmethod
    def _doc(row: tuple[Any, ...]) -> Doc:
        return Doc(row[0], row[1], row[2], row[3], row[4], msgspec.json.decode(row[5]))

    @staticmethod
    def _fetch_docs(conn: sqlite3.Connection, kind: str, account: str | None) -> list[Doc]:
        sql = "SELECT kind, account, region, name, arn, body FROM docs WHERE kind = ?"
        args: tuple[str, ...] = (kind,)
        if account is not None:
            sql += " AND account = ?"
            args = (kind, account)
        rows = conn.execute(sql + " ORDER BY account, region, name", args).fetchall()
        return [SQLiteStore._doc(row) for row in rows]

    def insert_doc(self, doc: Doc, check: Callable[[list[Doc]], None] | None = None) -> Doc:
        def run(conn: sqlite3.Connection) -> Doc:
            if check is not None:
                check(self._fetch_docs(conn, doc.kind, doc.account))
            try:
                conn.execute(
                    "INSERT INTO docs (kind, account, region, name, arn, body) VALUES (?, ?, ?, ?, ?, ?)",
                    (doc.kind, doc.account, doc.region, doc.name, doc.arn, msgspec.json.encode(doc.body)),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"{doc.kind} {doc.arn} already exists") from None
            return doc

        return self._call(run)

    def update_doc(
        self,
        kind: str,
        account: str,
        arn: str,
        change: Callable[[Doc], Doc],
        check: Callable[[list[Doc], Doc], None] | None = None,
    ) -> Doc:
        def run(conn: sqlite3.Connection) -> Doc:
            row = conn.execute(
                "SELECT kind, account, region, name, arn, body FROM docs "
                "WHERE kind = ? AND account = ? AND arn = ?",
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
                    "UPDATE docs SET region = ?, name = ?, arn = ?, body = ? "
                    "WHERE kind = ? AND account = ? AND arn = ?",
                    (new.region, new.name, new.arn, msgspec.json.encode(new.body), kind, account, arn),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"{kind} {new.arn} already exists") from None
            return new

        return self._call(run)

    def delete_doc(self, kind: str, account: str, arn: str) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM docs WHERE kind = ? AND account = ? AND arn = ?", (kind, account, arn)
            )
            return cur.rowcount > 0

        return self._call(run)

    def get_doc(self, kind: str, account: str, arn: str) -> Doc | None:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT kind, account, region, name, arn, body FROM docs "
                "WHERE kind = ? AND account = ? AND arn = ?",
                (kind, account, arn),
            ).fetchone()
        return None if row is None else self._doc(row)

    def list_docs(self, kind: str, account: str | None = None) -> list[Doc]:
        with self._reading() as conn:
            return self._fetch_docs(conn, kind, account)

    # -- events ------------------------------------------------------------------------------------------
    def submit(self, rows: list[EventRow]) -> Future[None]:
        task = _Task(rows, None)
        if self._closed:
            task.future.set_exception(StoreError("the store is closed"))
            return task.future
        self._queue.put(task)
        return task.future

    def _known_stream(self, account: str, region: str) -> int | None:
        sid = self._streams.get((account, region))
        if sid is None:
            # Not created through this instance: ask the database (committed rows only, safe to cache).
            with self._reading() as conn:
                found = conn.execute(
                    "SELECT id FROM streams WHERE account = ? AND region = ?", (account, region)
                ).fetchone()
            if found is None:
                return None
            sid = int(found[0])
            self._streams.setdefault((account, region), sid)
        return sid

    def lookup(self, query: EventQuery) -> list[StoredEvent]:
        sid = self._known_stream(query.account, query.region)
        if sid is None:
            return []
        with self._reading() as conn:
            return sql_events.lookup(conn, sid, query)

    def read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        with self._reading() as conn:
            return sql_events.read_after(conn, seq, limit)

    def read_log(
        self, account: str, after: int, limit: int, until: int | None = None, region: str | None = None
    ) -> LogSlice:
        with self._reading() as conn:
            return sql_events.read_log(conn, account, after, limit, until, region)

    def purge_ingested_before(self, cutoff: float, chunk: int = 10_000) -> int:
        day = int(cutoff // 86400)
        with self._reading() as conn:
            # Everything below the first sequence number of the cutoff day or later was ingested on
            # earlier days; with no such day, every event was.
            row = conn.execute(
                "SELECT first_seq FROM day_marks WHERE day >= ? ORDER BY day LIMIT 1", (day,)
            ).fetchone()
            if row is None:
                row = conn.execute("SELECT max(seq) + 1 FROM events").fetchone()
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
        while (removed := self._call(run)) > 0:
            total += removed

        self._call(lambda conn: conn.execute("DELETE FROM day_marks WHERE day < ?", (day,)))
        if total:
            # One pass over the history file: only when events went. Entries a crash left behind
            # point at no event (lookups join on the log) and go with the next purge.
            purge_below(self.path, limit_seq)
        return total

    def count_events(self, account: str | None = None) -> int:
        with self._reading() as conn:
            if account is None:
                row = conn.execute("SELECT count(*) FROM events").fetchone()
            else:
                row = conn.execute("SELECT count(*) FROM events WHERE acct = ?", (int(account),)).fetchone()
        return int(row[0])

    def get_event(self, account: str, event_id: str) -> StoredEvent | None:
        with self._reading() as conn:
            return sql_events.find_event(conn, account, event_id)
