"""Reading the PostgreSQL event log: history lookups, events by id, forward reads.

Reads run in one snapshot where they take several statements (the store's ``_snapshot``); any snapshot
sees a prefix of the log (``postgres/append.py``: numbers are given out in commit order). Each statement
names the day partitions it reads (``day_spans``, migration 0002): planning a scan of every day's
partition cost more than running it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from opentrail.events import StoredEvent
from opentrail.store.base import EventQuery, LogRow, account_number
from opentrail.store.log import names_resource, newest, stored_event, window_of

RESOURCE_TYPE, RESOURCE_NAME = 1, 2  # event_attrs.attr
_COLUMN_OF = {
    "EventName": "event_name",
    "EventSource": "event_source",
    "Username": "username",
    "AccessKeyId": "access_key",
}

# The log's columns as ``to_event`` reads them. No join with ``streams``: a join beside the Merge Append
# over every day partition tripled planning (8.7 ms against 2.6 with 31 partitions); streams are named
# from a cache instead (``names``), and are never renamed.
EVENT_COLUMNS = (
    "e.seq, e.stream, e.kind, e.time, e.event_id, e.event_name, e.event_source, "
    "e.read_only, e.username, e.access_key, e.record, e.resources, e.facts"
)
Names = dict[int, tuple[str, str]]  # stream id -> (account, region)


def _str(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).decode()


def _bytes(value: bytes | None) -> bytes | None:
    return None if value is None else bytes(value)


def to_event(row: tuple[Any, ...], account: str, region: str) -> StoredEvent:
    return stored_event(
        row[0],
        account,
        region,
        row[2],
        row[3],
        bytes(row[4]).decode(),
        _str(row[5]),
        _str(row[6]),
        row[7],
        _str(row[8]),
        _str(row[9]),
        bytes(row[10]),
        row[11],
        _bytes(row[12]),
    )


def named(conn: psycopg.Connection[Any], rows: list[tuple[Any, ...]], names: Names) -> list[StoredEvent]:
    """Events of rows from any streams, named through the ``names`` cache (filled from the database)."""
    missing = list({row[1] for row in rows if row[1] not in names})
    if missing:
        for sid, account, region in conn.execute(
            "SELECT id, account, region FROM streams WHERE id = ANY(%s)", (missing,)
        ):
            names[int(sid)] = (account, region)
    return [to_event(row, *names[row[1]]) for row in rows]


_WINDOW = "AND {t}.time >= %s AND {t}.time <= %s AND ({t}.time, {t}.seq) < (%s, %s) "
_NEWEST = "ORDER BY {t}.time DESC, {t}.seq DESC LIMIT %s"


Span = tuple[int, int, int]  # a day_spans row: (day, last_time, last_seq)


def _spans(conn: psycopg.Connection[Any], window: tuple[int, int, int, int]) -> tuple[int, list[Span]]:
    """History's cursor, and the days whose event times reach into the window, latest span first: one
    statement."""
    rows = conn.execute(
        "SELECT h.cursor, s.day, s.last_time, s.last_seq FROM history_state h "
        "LEFT JOIN day_spans s ON s.last_time >= %s AND s.first_time <= %s "
        "ORDER BY s.last_time DESC, s.day DESC",
        (window[0], window[1]),
    ).fetchall()
    cursor = int(rows[0][0]) if rows else 0
    return cursor, [(int(day), int(last), int(seq)) for _, day, last, seq in rows if day is not None]


def _newest(
    spans: list[Span],
    limit: int,
    read: Callable[[list[int]], list[tuple[Any, ...]]],
) -> list[tuple[Any, ...]]:
    """The ``limit`` newest rows (``EVENT_COLUMNS``) that ``read`` finds, reading the fewest days.

    ``read(days)`` returns the newest ``limit`` rows of those day partitions. Days are read latest span
    first, 1, 2, 4... at a time, and reading stops once no day left can hold an event newer than the
    ``limit``-th row found (its span ends before it)."""
    found: list[tuple[Any, ...]] = []
    low, size = 0, 1
    while low < len(spans):
        if len(found) >= limit and spans[low][1] < found[limit - 1][3]:
            break
        found = _top(found + read([day for day, _, _ in spans[low : low + size]]), limit)
        low, size = low + size, size * 2
    return found


def _top(rows: list[tuple[Any, ...]], limit: int) -> list[tuple[Any, ...]]:
    """The ``limit`` newest ``EVENT_COLUMNS`` rows, by (time, seq)."""
    return newest(rows, limit, 3)


def lookup(conn: psycopg.Connection[Any], sid: int, query: EventQuery) -> list[StoredEvent]:
    """One page of a stream's history, newest first, by at most one lookup attribute. Run in one
    snapshot (``day_spans``, the history cursor and the partitions read agree).

    Attributes, ReadOnly and no attribute read history up to its cursor joined with the log, and the
    log rows above the cursor (``_indexed``); resources read ``event_attrs`` the same way, the rows
    above the cursor decoded here (``_by_resource``); EventId finds (day, seq) pairs in ``event_keys``.
    Each statement names the day partitions it reads (``_newest``): planning a Merge Append over every
    day cost more than running it."""
    bounds = window_of(query)
    attribute, value = query.attribute, query.value or ""
    kind = int(query.kind)
    # read_only is a literal (our own number, never the caller's text): history's writes index is
    # partial, and the planner proves a partial index's predicate from constants.
    if attribute in _COLUMN_OF:
        condition = f"AND {{t}}.{_COLUMN_OF[attribute]} = %s "
        rows = _indexed(conn, sid, kind, bounds, query.limit, condition, [value.encode()])
    elif attribute == "ReadOnly":
        if value not in ("true", "false"):
            return []
        flag = 1 if value == "true" else 0
        rows = _indexed(conn, sid, kind, bounds, query.limit, f"AND {{t}}.read_only = {flag:d} ", [])
    elif attribute is None:
        rows = _indexed(conn, sid, kind, bounds, query.limit, "", [])
    elif attribute == "EventId":
        keys = conn.execute(
            "SELECT day, seq FROM event_keys WHERE acct = %s AND event_id = %s",
            (account_number(query.account), value.encode()),
        ).fetchall()
        if not keys:
            return []
        rows = conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.stream = %s AND e.kind = {kind:d} "
            "AND e.day = ANY(%s) AND e.seq = ANY(%s) " + _WINDOW.format(t="e") + _NEWEST.format(t="e"),
            (sid, sorted({day for day, _ in keys}), [seq for _, seq in keys], *bounds, query.limit),
        ).fetchall()
    elif attribute in ("ResourceType", "ResourceName"):
        rows = _by_resource(conn, sid, kind, bounds, query.limit, attribute, value)
    else:
        raise ValueError(f"unknown lookup attribute {attribute!r}")
    return [to_event(row, query.account, query.region) for row in rows]


def _indexed(
    conn: psycopg.Connection[Any],
    sid: int,
    kind: int,
    window: tuple[int, int, int, int],
    limit: int,
    condition: str,
    args: list[Any],
) -> list[tuple[Any, ...]]:
    """The ``limit`` newest events of the stream and kind in the window that satisfy ``condition`` (SQL
    on the alias ``{t}``): from history up to its cursor (its indexes, joined with the log's rows by
    their key) and from the log rows above the cursor, which the indexer has not reached yet (a scan of
    the newest rows of the log by sequence number). One snapshot: what the cursor covers is in
    history."""
    cursor, spans = _spans(conn, window)

    def read(days: list[int]) -> list[tuple[Any, ...]]:
        return conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM history h JOIN events e ON e.day = h.day AND e.seq = h.seq "
            f"WHERE h.day = ANY(%s) AND e.day = ANY(%s) AND h.stream = %s AND h.kind = {kind:d} "
            + condition.format(t="h")
            + _WINDOW.format(t="h")
            + _NEWEST.format(t="h"),
            (days, days, sid, *args, *window, limit),
        ).fetchall()

    rows = _newest(spans, limit, read)
    tail = [day for day, _, last_seq in spans if last_seq > cursor]
    if tail:
        rows += conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.day = ANY(%s) AND e.seq > %s "
            f"AND e.stream = %s AND e.kind = {kind:d} "
            + condition.format(t="e")
            + _WINDOW.format(t="e")
            + _NEWEST.format(t="e"),
            (tail, cursor, sid, *args, *window, limit),
        ).fetchall()
    return _top(rows, limit)


def _by_resource(
    conn: psycopg.Connection[Any],
    sid: int,
    kind: int,
    window: tuple[int, int, int, int],
    limit: int,
    attribute: str,
    value: str,
) -> list[tuple[Any, ...]]:
    """``_indexed`` for a resource type or name: ``event_attrs`` up to the cursor, and the log rows
    above it whose resources (JSON, decoded here) name the value."""
    attr = RESOURCE_TYPE if attribute == "ResourceType" else RESOURCE_NAME
    cursor, spans = _spans(conn, window)

    def read(days: list[int]) -> list[tuple[Any, ...]]:
        return conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM event_attrs a JOIN events e ON e.day = a.day AND e.seq = a.seq "
            "WHERE a.day = ANY(%s) AND e.day = ANY(%s) AND a.stream = %s AND a.kind = %s AND a.attr = %s "
            "AND a.value = %s " + _WINDOW.format(t="a") + _NEWEST.format(t="a"),
            (days, days, sid, kind, attr, value.encode(), *window, limit),
        ).fetchall()

    rows = _newest(spans, limit, read)
    tail = [day for day, _, last_seq in spans if last_seq > cursor]
    if tail:
        at = attr - 1  # in the (type, ARN) pairs
        rows += [
            row
            for row in conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.day = ANY(%s) AND e.seq > %s "
                f"AND e.stream = %s AND e.kind = {kind:d} AND e.resources IS NOT NULL "
                + _WINDOW.format(t="e")
                + "ORDER BY e.time DESC, e.seq DESC",
                (tail, cursor, sid, *window),
            )
            if names_resource(row[11], at, value)
        ]
    return _top(rows, limit)


def find_event(
    conn: psycopg.Connection[Any], account: str, event_id: str, names: Names
) -> StoredEvent | None:
    """The first stored event of ``account`` with ``event_id`` (any stream, any kind)."""
    key = conn.execute(
        "SELECT day, seq FROM event_keys WHERE acct = %s AND event_id = %s ORDER BY seq LIMIT 1",
        (account_number(account), event_id.encode()),
    ).fetchone()
    if key is None:
        return None
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.day = %s AND e.seq = %s", key
    ).fetchall()
    found = named(conn, rows, names)
    return found[0] if found else None


def read_after(conn: psycopg.Connection[Any], seq: int, limit: int, names: Names) -> list[StoredEvent]:
    """Run in one snapshot (a prefix of the log, see the module's docstring) that ``day_spans`` agrees
    with. Days are read in order of their first number, 1, 2, 4... at a time, until no day left can
    hold a number below the ``limit``-th found (days' ranges overlap only when processes' clocks do)."""
    spans = conn.execute(
        "SELECT day, first_seq FROM day_spans WHERE last_seq > %s ORDER BY first_seq, day", (seq,)
    ).fetchall()
    rows: list[tuple[Any, ...]] = []
    low, size = 0, 1
    while low < len(spans):
        if len(rows) >= limit and spans[low][1] > rows[limit - 1][0]:
            break
        rows += conn.execute(
            f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.day = ANY(%s) AND e.seq > %s "
            "ORDER BY e.seq LIMIT %s",
            ([day for day, _ in spans[low : low + size]], seq, limit),
        ).fetchall()
        rows = sorted(rows, key=lambda row: int(row[0]))[:limit]
        low, size = low + size, size * 2
    return named(conn, rows, names)


def log_rows(conn: psycopg.Connection[Any], after: int, bound: int, streams: list[int]) -> list[LogRow]:
    """``Store.read_log``'s range, in the snapshot that read ``high``: one range scan of the days that
    range touches, filtered by stream. Every number at or below ``high`` belongs to a committed row or to
    none (``postgres/append.py``), so the range is complete."""
    days = [
        day
        for (day,) in conn.execute(
            "SELECT day FROM day_spans WHERE last_seq > %s AND first_seq <= %s", (after, bound)
        )
    ]
    rows = conn.execute(
        "SELECT seq, stream, kind, read_only, event_source, time, record, facts FROM events "
        "WHERE day = ANY(%s) AND seq > %s AND seq <= %s AND stream = ANY(%s) ORDER BY seq",
        (days, after, bound, streams),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3], _str(r[4]), r[5], bytes(r[6]), _bytes(r[7])) for r in rows]
