"""Event history for the SQLite store: a consumer of the event log, in a database file of its own.

The log (``events``) is what an ingest call commits and waits for. History — one entry per event and
lookup attribute value — is derived from it behind a cursor by ``SQLiteHistoryIndexer``, a thread with
its own connection to ``<name>.history.db``, so indexing runs beside the log's writer (on the other
core; SQLite has one writer per database file) instead of inside its commits.

History is rebuildable: its cursor lives in its own file, each pass writes entries and cursor in one
transaction (``INSERT OR IGNORE``, so a repeated pass changes nothing), and a history file that is
lost or deleted is rebuilt from the log from sequence 0. Durability of this file is therefore
``synchronous=NORMAL``: after a power cut it may roll back to an earlier cursor, never past it.
Lookups read the cursor first and search the log rows above it directly (``sqlite/events.py``), so the
history lag (about ``INDEX_DELAY_S``, bounded by ``MAX_LAG``) is never visible to a reader.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path

from opentrail.store.sqlite import events as sql_events
from opentrail.store.threads import name_os_thread

log = logging.getLogger(__name__)

# Indexing costs less per event in bigger passes (random keys such as EventId dirty each page once per
# pass, not once per event): 36.7 µs CPU an event at 5,000 a pass, 27.3 at 20,000, 21.5 at 50,000.
INDEX_BATCH = 50_000  # events per pass at most; a full pass is started as soon as it is ready
INDEX_DELAY_S = 1.0  # otherwise a pass runs this often while there is something to index
# Ingest waits while history is this many events behind (until it is half as far behind): lookups
# search the log above the history cursor row by row, so the lag must stay bounded under sustained
# ingest faster than indexing. 100,000 rows take a lookup about 0.1-0.2 s to search.
MAX_LAG = 100_000
LAG_WAIT_S = 10.0  # a wait longer than this lets ingest go on (history will catch up when it can)
# History's WAL is checkpointed every 8,000 pages (128 MB): a page dirtied by several passes is written
# back once (default 1,000 pages: 26.1 -> 21.1 µs CPU an event, wall 47 -> 34 µs).
WAL_CHECKPOINT_PAGES = 8_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    stream INTEGER NOT NULL,
    kind   INTEGER NOT NULL,
    attr   INTEGER NOT NULL,
    value  TEXT NOT NULL,
    time   INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (stream, kind, attr, value, time, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_cursor (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
);
INSERT OR IGNORE INTO history_cursor (one, seq) VALUES (1, 0);
"""


def history_path(log_path: str) -> str:
    path = Path(log_path)
    stem = path.name[:-3] if path.name.endswith(".db") else path.name
    return str(path.with_name(f"{stem}.history.db"))


def open_history(log_path: str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection whose main database is the history file, with the log attached as ``log``."""
    conn = sqlite3.connect(history_path(log_path), isolation_level=None, check_same_thread=False, timeout=30)
    # 16 KB pages for a new file (no effect on an existing one): fewer, fuller pages for entries that
    # land all over the B-tree (EventId values are random); indexing ~8% faster than with 4 KB pages.
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    conn.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\nCOMMIT;")
    conn.execute("ATTACH DATABASE ? AS log", (log_path,))
    return conn


def attach_history(conn: sqlite3.Connection, log_path: str) -> None:
    """Make ``history`` and ``history_cursor`` visible to a connection on the log."""
    conn.execute("ATTACH DATABASE ? AS hist", (history_path(log_path),))


def purge_below(log_path: str, seq: int) -> None:
    """Drop the history of events below ``seq`` (retention). History is keyed for lookups, not by
    sequence, so this is one pass over it."""
    conn = open_history(log_path)
    try:
        conn.execute("DELETE FROM history WHERE seq < ?", (seq,))
    finally:
        conn.close()


class SQLiteHistoryIndexer:
    """The thread that keeps history up with the log. ``nudge`` asks for a pass now."""

    def __init__(self, log_path: str) -> None:
        self._log_path = log_path
        self._conn = open_history(log_path)
        self._wake = threading.Event()
        self._stopping = False
        self._progress = threading.Condition()
        self.covered = sql_events.history_cursor(self._conn)  # the last sequence history covers
        self._healthy = True
        self._thread = threading.Thread(target=self._run, name="opentrail-history-indexer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def hold_back(self, high: int) -> None:
        """Called by the log's writer after committing up to ``high``: wait while history is more than
        ``MAX_LAG`` events behind, until it is half that (never while indexing is failing)."""
        if high - self.covered <= MAX_LAG or not self._healthy:
            return
        self._wake.set()
        with self._progress:
            caught_up = self._progress.wait_for(
                lambda: high - self.covered <= MAX_LAG // 2 or not self._healthy or self._stopping,
                timeout=LAG_WAIT_S,
            )
        if not caught_up:
            log.warning("event history is %d events behind the log", high - self.covered)

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        with self._progress:
            self._progress.notify_all()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        name_os_thread("ot-history")
        while not self._stopping:
            self._wake.wait(INDEX_DELAY_S)
            self._wake.clear()
            while not self._stopping and self._pass() == INDEX_BATCH:
                pass

    def _pass(self) -> int:
        conn = self._conn
        try:
            # Deferred, not IMMEDIATE: IMMEDIATE would take the write lock of the attached log too and
            # stall ingest; this transaction only reads the log (a WAL snapshot) and writes history.
            conn.execute("BEGIN")
            done = sql_events.index_history(conn, INDEX_BATCH)
            conn.execute("COMMIT")
            covered = sql_events.history_cursor(conn)
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.warning("indexing event history failed, will retry: %s", exc)
            self._set_progress(self.covered, healthy=False)
            return 0
        self._set_progress(covered, healthy=True)
        return done

    def _set_progress(self, covered: int, *, healthy: bool) -> None:
        with self._progress:
            self.covered, self._healthy = covered, healthy
            self._progress.notify_all()
