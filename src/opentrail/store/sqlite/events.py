"""The SQLite event log's SQL: row layout, group inserts, and event history as a consumer of the log.

The acknowledged write touches only keys in time or sequence order (the rowid and the
(account, eventTime, eventID) dedupe index), so a group commit appends at the right edge of each B-tree.
Event history is built behind a cursor (``sqlite/history.py``): ``index_history`` turns thousands of new
rows at a time into ``history`` entries, one per lookup attribute value; ``lookup`` and ``find_event``
search the entries plus the few log rows above the cursor, so they see every acknowledged event.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from opentrail.events import EventRow, StoredEvent
from opentrail.store.base import EventQuery, LogRow
from opentrail.store.log import encode_resources, names_resource, newest, stored_event, window_of

EVERY, RESOURCE_TYPE, RESOURCE_NAME = 0, 1, 2
EVENT_NAME, EVENT_SOURCE, USERNAME, ACCESS_KEY, READ_ONLY, EVENT_ID = 3, 4, 5, 6, 7, 8
ATTRIBUTES = {
    "ResourceType": RESOURCE_TYPE,
    "ResourceName": RESOURCE_NAME,
    "EventName": EVENT_NAME,
    "EventSource": EVENT_SOURCE,
    "Username": USERNAME,
    "AccessKeyId": ACCESS_KEY,
    "ReadOnly": READ_ONLY,
    "EventId": EVENT_ID,
}

EVENT_COLUMNS = (
    "e.seq, s.account, s.region, e.kind, e.time, e.event_id, e.event_name, e.event_source, "
    "e.read_only, e.username, e.access_key, e.record, e.resources, e.facts"
)
_FROM_EVENTS = "events e JOIN streams s ON s.id = e.stream"
INSERT_EVENT_SQL = (
    "INSERT OR IGNORE INTO events (seq, stream, acct, kind, time, event_id, event_name, event_source, "
    "read_only, username, access_key, record, resources, facts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
INSERT_HISTORY_SQL = (
    "INSERT OR IGNORE INTO history (stream, kind, attr, value, time, seq) VALUES (?,?,?,?,?,?)"
)


def event_values(sid: int, row: EventRow) -> tuple[Any, ...]:
    """An ``events`` row as the store lays it out (without seq): the one definition of that layout."""
    return (
        sid,
        int(row.account),
        int(row.kind),
        row.time_ms,
        row.event_id,
        row.event_name,
        row.event_source,
        None if row.read_only is None else int(row.read_only),
        row.username,
        row.access_key_id,
        row.record,
        encode_resources(row.resources),
        row.facts,
    )


_COLUMNS = 14  # seq and the thirteen ``event_values``


def next_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    return (int(row[0]) if row else 0) + 1


_ROWS_PER_STATEMENT = 250  # 14 values a row: well under SQLite's 32,766 variables per statement
_ONE_ROW = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"


def _insert_rows_sql(count: int) -> str:
    # Built again for each group's last, shorter statement: ~15 µs (building and hashing the text for
    # sqlite3's statement cache, which keeps the prepared statement) against the group's milliseconds,
    # so no cache of texts is kept.
    return INSERT_EVENT_SQL.replace(_ONE_ROW, ",".join([_ONE_ROW] * count))


_FULL_INSERT_SQL = _insert_rows_sql(_ROWS_PER_STATEMENT)


def insert_events(conn: sqlite3.Connection, rows: list[tuple[int, EventRow]]) -> int:
    """Insert (stream id, row) pairs numbered in order from the next sequence number.

    A row whose (account, eventTime, eventID) is stored already is skipped, leaving a gap in the
    sequence (consumers read ``seq > cursor``, so gaps are harmless; a number is never reused).

    Up to 250 rows go in one multi-row INSERT rather than ``executemany``: sqlite3 releases the GIL
    around every step, and ``executemany`` steps once per row, so while the event loop's thread was
    busy the writer waited for the GIL once per row (bench: 39k rows/s alone, 9k beside a busy thread;
    one statement per 250 rows: 12-19k). Returns the last sequence number given out.
    """
    seq = next_seq(conn)
    flat: list[Any] = []
    add = flat.extend
    for number, (sid, row) in enumerate(rows, seq):
        add((number, *event_values(sid, row)))  # one flat parameter list, no tuple per row kept
    step = _ROWS_PER_STATEMENT * _COLUMNS
    for low in range(0, len(flat), step):
        part = flat[low : low + step]
        count = len(part) // _COLUMNS
        conn.execute(_FULL_INSERT_SQL if count == _ROWS_PER_STATEMENT else _insert_rows_sql(count), part)
    return seq + len(rows) - 1


def history_cursor(conn: sqlite3.Connection) -> int:
    """The last sequence number history covers (``history_cursor`` lives in the history file)."""
    return int(conn.execute("SELECT seq FROM history_cursor").fetchone()[0])


def high_seq(conn: sqlite3.Connection) -> int:
    return next_seq(conn) - 1


def _history_select(attr: int, value: str, where: str = "") -> str:
    columns = f"b.stream, b.kind, {attr}, {value}, b.time, b.seq"
    return f"SELECT {columns} FROM batch b{where} WHERE {value} IS NOT NULL"


# History entries of the events in a sequence range, built by SQLite itself: binding each entry from
# Python cost more than inserting it (bench: 54 µs per event that way, 25 µs this way). The range's
# index columns are read from the log once into a materialized ``batch`` (each of the nine selects
# scanning the log's ~1.2 KB rows itself cost 1.5-2 µs an event each: 33 -> 24 µs CPU an event).
# Sorting the entries first (ORDER BY the key) made it slower, not faster.
INDEX_HISTORY_SQL = (
    "WITH batch AS MATERIALIZED (SELECT stream, kind, time, seq, event_id, event_name, event_source, "
    "username, access_key, read_only, resources FROM events WHERE seq > ?1 AND seq <= ?2) "
    "INSERT OR IGNORE INTO history (stream, kind, attr, value, time, seq) "
    + " UNION ALL ".join(
        [
            _history_select(EVERY, "''"),
            _history_select(EVENT_ID, "b.event_id"),
            _history_select(EVENT_NAME, "b.event_name"),
            _history_select(EVENT_SOURCE, "b.event_source"),
            _history_select(USERNAME, "b.username"),
            _history_select(ACCESS_KEY, "b.access_key"),
            _history_select(READ_ONLY, "CASE b.read_only WHEN 1 THEN 'true' WHEN 0 THEN 'false' END"),
            _history_select(RESOURCE_TYPE, "r.value ->> 0", ", json_each(b.resources) r"),
            _history_select(RESOURCE_NAME, "r.value ->> 1", ", json_each(b.resources) r"),
        ]
    )
)


def index_history(conn: sqlite3.Connection, limit: int) -> int:
    """Index the next ``limit`` events above the history cursor; return how many it covered."""
    cursor = history_cursor(conn)
    low, high, count = conn.execute(
        "SELECT min(seq), max(seq), count(*) FROM "
        "(SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT ?)",
        (cursor, limit),
    ).fetchone()
    if not count:
        return 0
    conn.execute(INDEX_HISTORY_SQL, (low - 1, high))
    conn.execute("UPDATE history_cursor SET seq = ?", (high,))
    return int(count)


def to_event(row: tuple[Any, ...]) -> StoredEvent:
    # Positional, and the record's bytes as SQLite returns them (bench.delivery: 3.0 -> 1.3 µs a row):
    # ``EVENT_COLUMNS`` are ``stored_event``'s arguments in order.
    return stored_event(*row)


_COLUMN_OF = {
    EVENT_NAME: "e.event_name",
    EVENT_SOURCE: "e.event_source",
    USERNAME: "e.username",
    ACCESS_KEY: "e.access_key",
    EVENT_ID: "e.event_id",
}


def _tail(
    conn: sqlite3.Connection, where: str, args: tuple[Any, ...], attr: int = EVERY, value: str = ""
) -> list[tuple[Any, ...]]:
    """Rows above the history cursor matching ``where`` and one attribute: what history does not cover
    yet. The indexer runs at most ``INDEX_DELAY_S`` behind, so this is a short rowid range."""
    if attr in _COLUMN_OF:
        where += f" AND {_COLUMN_OF[attr]} = ?"
        args = (*args, value)
    elif attr == READ_ONLY:
        where += " AND e.read_only = ?"
        args = (*args, 1 if value == "true" else 0 if value == "false" else -1)
    elif attr in (RESOURCE_TYPE, RESOURCE_NAME):
        where += " AND e.resources IS NOT NULL"
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM {_FROM_EVENTS} WHERE e.seq > ? AND {where}",
        (history_cursor(conn), *args),
    ).fetchall()
    if attr in (RESOURCE_TYPE, RESOURCE_NAME):
        at = 0 if attr == RESOURCE_TYPE else 1
        rows = [row for row in rows if names_resource(row[12], at, value)]
    return rows


def find_event(conn: sqlite3.Connection, account: str, event_id: str) -> StoredEvent | None:
    """The first stored event of ``account`` with ``event_id`` (any stream, any kind)."""
    # The tail is read first: the indexer only moves the cursor forward, so history (which covers at
    # least up to the cursor read here) and the tail together miss nothing.
    tail = _tail(conn, "e.acct = ?", (int(account),), EVENT_ID, event_id)
    row = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM history h JOIN events e ON e.seq = h.seq "
        "JOIN streams s ON s.id = e.stream "
        "WHERE h.stream IN (SELECT id FROM streams WHERE account = ?) AND h.kind IN (0, 1, 2, 3) "
        "AND h.attr = ? AND h.value = ? ORDER BY h.seq LIMIT 1",
        (account, EVENT_ID, event_id),
    ).fetchone()
    if row is None and tail:
        row = min(tail, key=lambda found: found[0])  # the first stored: the tail comes in index order
    return None if row is None else to_event(row)


def lookup(conn: sqlite3.Connection, sid: int, query: EventQuery) -> list[StoredEvent]:
    """One page of a stream's history, newest first, by at most one lookup attribute."""
    attr, value = EVERY, ""
    if query.attribute is not None:
        attr, value = ATTRIBUTES[query.attribute], query.value or ""
    bounds = window_of(query)
    tail = _tail(
        conn,
        "e.stream = ? AND e.kind = ? AND e.time >= ? AND e.time <= ? AND (e.time, e.seq) < (?, ?)",
        (sid, int(query.kind), *bounds),
        attr,
        value,
    )
    sql = (
        f"SELECT {EVENT_COLUMNS} FROM history h JOIN events e ON e.seq = h.seq "
        "JOIN streams s ON s.id = e.stream "
        "WHERE h.stream = ? AND h.kind = ? AND h.attr = ? AND h.value = ? "
        "AND h.time >= ? AND h.time <= ? AND (h.time, h.seq) < (?, ?) "
        "ORDER BY h.time DESC, h.seq DESC LIMIT ?"
    )
    rows = conn.execute(sql, (sid, int(query.kind), attr, value, *bounds, query.limit)).fetchall()
    if tail:
        # History may have moved past the tail's cursor since: one row per sequence number.
        merged = {row[0]: row for row in rows} | {row[0]: row for row in tail}
        rows = newest(list(merged.values()), query.limit, 4)
    return [to_event(row) for row in rows]


def read_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[StoredEvent]:
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM {_FROM_EVENTS} WHERE e.seq > ? ORDER BY e.seq LIMIT ?", (seq, limit)
    ).fetchall()
    return [to_event(row) for row in rows]


def log_rows(conn: sqlite3.Connection, after: int, bound: int, streams: list[int]) -> list[LogRow]:
    """``Store.read_log``'s range: one rowid range scan that SQLite filters by stream. Rows come back as
    the driver's tuples, eight columns (the full ``read_after`` row with its stream join and
    ``to_event`` cost delivery 10 µs an event; this, 3).

    Every row at or below ``high_seq`` was committed with it (one writer, numbers given out in commit
    order), so a range up to it is complete however many groups commit meanwhile.
    """
    # ``+stream``: filter rows of the range, never walk an index on stream instead of the rowid.
    listed = ",".join(str(sid) for sid in streams)
    rows: list[LogRow] = conn.execute(
        "SELECT seq, stream, kind, read_only, event_source, time, record, facts FROM events "
        f"WHERE seq > ? AND seq <= ? AND +stream IN ({listed}) ORDER BY seq",
        (after, bound),
    ).fetchall()
    return rows
