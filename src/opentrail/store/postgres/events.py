"""The PostgreSQL event log's SQL: day partitions, group inserts, lookups and forward reads.

A group is copied (binary COPY) into temporary staging tables, then one statement, run under the log's
advisory lock, numbers it from ``log_state.high``, drops rows whose (account, eventID, eventTime) is
stored already (``event_keys``) and moves the rest into the day's partitions.

**Commit order = read order** (DESIGN.md rule 3). Every appending transaction takes the transaction-level
advisory lock ``LOG_LOCK`` before it reads ``log_state.high``, and PostgreSQL releases a transaction's
locks only after its commit is visible. So a transaction that numbers rows after another one's can
commit only after that one is visible, and any snapshot sees a prefix of the log: a reader of
``seq > cursor`` never misses a row that commits later with a lower number, in this process or any other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.store.base import EventQuery, LogSlice

LOG_LOCK = 0x6F74_6C6F  # pg_advisory_xact_lock key of the event log ("otlo")
# Taken (exclusively) around creating and dropping day partitions, and shared by history's indexer: a
# partition's DDL locks the parents of the log, attributes and history in turn, an indexer's pass locks
# them in another order, and without this each could hold what the other waits for (a deadlock).
PARTITION_LOCK = 0x6F74_7061
RESOURCE_TYPE, RESOURCE_NAME = 1, 2
_COLUMN_OF = {
    "EventName": "event_name",
    "EventSource": "event_source",
    "Username": "username",
    "AccessKeyId": "access_key",
}
_KINDS = tuple(Kind)
_resources = msgspec.json.Decoder(list[tuple[str | None, str | None]])
decode_resources = _resources.decode  # a row's resources column: its (type, ARN) pairs
_encoder = msgspec.json.Encoder()

STAGING_SQL = """
CREATE TEMP TABLE IF NOT EXISTS staging (
    ord integer, stream integer, acct bigint, kind smallint, time bigint, event_id bytea,
    event_name bytea, event_source bytea, read_only smallint, username bytea, access_key bytea,
    record bytea, resources bytea, facts bytea
) ON COMMIT DELETE ROWS;
"""
COPY_EVENTS = "COPY staging FROM STDIN (FORMAT BINARY)"
EVENT_TYPES = ["int4", "int4", "int8", "int2", "int8", *["bytea"] * 3, "int2", *["bytea"] * 5]

# Numbers the staged group from ``base``, the last sequence number given out (``ord`` is 1-based), keeps
# the first of each identity not stored yet, and moves those rows into the log. Skipped rows leave gaps,
# never reused. Parameters carry casts: psycopg types an int by its value (int2 when small), and
# int2 + int2 overflows once the log passes 32,767. Joins are on plain ``ord`` columns, so they merge or
# hash (a join on ``base + ord`` planned a nested loop, quadratic in the group: 1.1 s for 2,000 rows).
MOVE_SQL = """
WITH k AS (
    INSERT INTO event_keys (acct, event_id, time, day, seq)
    SELECT acct, event_id, time, %(day)s::integer, %(base)s::bigint + ord FROM staging ORDER BY ord
    ON CONFLICT DO NOTHING
    RETURNING (seq - %(base)s::bigint)::integer AS ord
),
e AS (
    INSERT INTO events (day, seq, stream, acct, kind, time, event_id, event_name, event_source,
                        read_only, username, access_key, record, resources, facts)
    SELECT %(day)s::integer, %(base)s::bigint + s.ord, s.stream, s.acct, s.kind, s.time, s.event_id,
           s.event_name, s.event_source, s.read_only, s.username, s.access_key, s.record, s.resources,
           s.facts
    FROM staging s JOIN k USING (ord) ORDER BY s.ord
),
span AS (
    INSERT INTO day_spans (day, first_time, last_time, first_seq, last_seq)
    SELECT %(day)s::integer, min(time), max(time), %(base)s::bigint + 1, %(base)s::bigint + %(count)s::bigint
    FROM staging
    ON CONFLICT (day) DO UPDATE SET first_time = least(day_spans.first_time, excluded.first_time),
                                    last_time = greatest(day_spans.last_time, excluded.last_time),
                                    first_seq = least(day_spans.first_seq, excluded.first_seq),
                                    last_seq = greatest(day_spans.last_seq, excluded.last_seq)
)
UPDATE log_state SET high = %(base)s::bigint + %(count)s::bigint
"""


def _text(value: str | None) -> bytes | None:
    return None if value is None else value.encode()


def staged(ord_: int, sid: int, row: EventRow) -> tuple[Any, ...]:
    """A staging row (without the group's numbering): the one definition of the log's row layout."""
    return (
        ord_,
        sid,
        account_number(row.account),
        int(row.kind),
        row.time_ms,
        row.event_id.encode(),
        _text(row.event_name),
        _text(row.event_source),
        None if row.read_only is None else int(row.read_only),
        _text(row.username),
        _text(row.access_key_id),
        row.record,
        _encoder.encode(row.resources) if row.resources else None,
        row.facts,
    )


# The direct path: a group whose identities are all new (every group but a client's retry) is copied
# straight into the day's partition of the log, numbered before it is sent, where MOVE_SQL wrote every
# record twice (staging, then the log) and inserted the log row by row (COPY fills a page at a time).
# Round trips are what a group waits on when the machine is busy (each one ~1 ms with the cores
# shared), so the transaction takes four, not thirteen: BEGIN, the lock and ``high`` in one simple
# query; the COPY of the records; then one simple query with the identities (read back from the rows
# just copied), the day's spans, ``high`` and COMMIT. A stored identity fails that statement; the group
# then takes the staging path. (Resource attributes are history's: ``postgres_history``.)
BEGIN_SQL = f"BEGIN; SELECT pg_advisory_xact_lock({LOG_LOCK}); SELECT high FROM log_state"
LOG_COLUMNS = (
    "(day, seq, stream, acct, kind, time, event_id, event_name, event_source, read_only, username, "
    "access_key, record, resources, facts)"
)
LOG_TYPES = ["int4", "int8", *EVENT_TYPES[1:]]
FINISH_SQL = """
WITH k AS (
    INSERT INTO event_keys (acct, event_id, time, day, seq)
    SELECT acct, event_id, time, day, seq FROM {log} WHERE seq > {base} AND seq <= {high} ORDER BY seq
),
span AS (
    INSERT INTO day_spans (day, first_time, last_time, first_seq, last_seq)
    VALUES ({day}, {first_time}, {last_time}, {base} + 1, {high})
    ON CONFLICT (day) DO UPDATE SET first_time = least(day_spans.first_time, excluded.first_time),
                                    last_time = greatest(day_spans.last_time, excluded.last_time),
                                    first_seq = least(day_spans.first_seq, excluded.first_seq),
                                    last_seq = greatest(day_spans.last_seq, excluded.last_seq)
)
UPDATE log_state SET high = {high};
COMMIT
"""


def append_direct(conn: psycopg.Connection[Any], day: int, rows: list[tuple[Any, ...]]) -> int | None:
    """Append ``rows`` (``staged`` tuples, ``ord`` 1-based) straight into the day's partition of the log
    in one transaction on ``conn`` (autocommit), numbered in order after ``high`` under
    the log's lock, the later of two rows with one identity left out; return the log's new ``high``.
    None, with nothing written, when an identity is stored already (the staging path then keeps the
    first of each)."""
    seen: set[tuple[int, bytes, int]] = set()
    kept: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        identity = (row[2], row[5], row[4])
        if identity not in seen:
            seen.add(identity)
            kept[row[0]] = row
    log = f'"events_d{int(day)}"'
    with conn.cursor() as cur:
        try:
            cur.execute(BEGIN_SQL)
            while cur.nextset():
                pass
            found = cur.fetchone()
            base = int(found[0]) if found else 0
            with cur.copy(f"COPY {log} {LOG_COLUMNS} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(LOG_TYPES)
                for number, row in enumerate(kept.values(), base + 1):
                    copy.write_row((day, number, *row[1:]))
            times = [row[4] for row in kept.values()]
            # Every value is an int this function computed: safe as literals, so one simple query
            # carries the rest of the transaction and its COMMIT.
            cur.execute(
                FINISH_SQL.format(
                    log=log,
                    day=int(day),
                    base=base,
                    high=base + len(kept),
                    first_time=int(min(times)),
                    last_time=int(max(times)),
                ).encode()
            )
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK")
            return None
        except BaseException:
            if not conn.broken:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
            raise
    return base + len(kept)


def account_number(account: str) -> int:
    """The log keys accounts by number; anything but an id of up to 18 ASCII digits is a bug upstream.
    (``int`` alone would take " 12" or "1_2", and so merge accounts.)"""
    if not (account.isascii() and account.isdigit() and len(account) <= 18):
        raise ValueError(f"account {account!r} is not an account id")
    return int(account)


PARTITIONED = ("events", "event_attrs", "history")


def partition_sql(day: int, tables: tuple[str, ...] = PARTITIONED) -> list[sql.Composed]:
    """DDL creating the day's partitions of the log, of resource attributes and of history (or of
    ``tables``, for a database of an older version), if missing."""
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
            sql.Identifier(f"{table}_d{day}"), sql.Identifier(table), sql.Literal(day), sql.Literal(day + 1)
        )
        for table in tables
    ]


def partition_days(conn: psycopg.Connection[Any]) -> list[int]:
    """Days that have a partition of the log, oldest first."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'events'::regclass"
    ).fetchall()
    return sorted(int(name.rsplit("_d", 1)[1]) for (name,) in rows)


def drop_day(conn: psycopg.Connection[Any], day: int, lock: int) -> int:
    """Drop one day's partitions and keys (inside the caller's transaction); return how many events.

    Dropping a partition locks the whole log for a moment; the drop waits at most 5 s for readers and
    writers to let go (then the purge fails, to be retried) rather than queue every caller behind it.
    Processes purging at once take turns under ``lock``; a day another one dropped counts 0."""
    conn.execute("SET LOCAL lock_timeout = '5s'")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
    found = conn.execute("SELECT to_regclass(%s)", (f"events_d{day}",)).fetchone()
    if found is None or found[0] is None:
        return 0
    events = sql.Identifier(f"events_d{day}")
    count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(events)).fetchone()
    # Through the day's own rows and event_keys' primary key: an index on event_keys.day would cost
    # every append an index entry to serve this once a day (migration 0004).
    conn.execute(
        sql.SQL(
            "DELETE FROM event_keys k USING {} e "
            "WHERE k.acct = e.acct AND k.event_id = e.event_id AND k.time = e.time AND k.day = %s"
        ).format(events),
        (day,),
    )
    conn.execute("DELETE FROM day_spans WHERE day = %s", (day,))
    conn.execute(
        sql.SQL("DROP TABLE {}, {}, {}").format(
            events, sql.Identifier(f"event_attrs_d{day}"), sql.Identifier(f"history_d{day}")
        )
    )
    return int(count[0]) if count else 0


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
    read_only, resources, facts = row[7], row[11], row[12]
    return StoredEvent(
        row[0],
        EventRow(
            account,
            region,
            _KINDS[row[2]],
            row[3],
            bytes(row[4]).decode(),
            _str(row[5]),
            _str(row[6]),
            None if read_only is None else read_only == 1,
            _str(row[8]),
            _str(row[9]),
            bytes(row[10]),
            () if resources is None else _resources.decode(resources),
            _bytes(facts),
        ),
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
    return sorted(rows, key=lambda row: (row[3], row[0]), reverse=True)[:limit]


def lookup(conn: psycopg.Connection[Any], sid: int, query: EventQuery) -> list[StoredEvent]:
    """One page of a stream's history, newest first, by at most one lookup attribute. Run in one
    snapshot (``day_spans``, the history cursor and the partitions read agree).

    Attributes, ReadOnly and no attribute read history up to its cursor joined with the log, and the
    log rows above the cursor (``_indexed``); resources read ``event_attrs`` the same way, the rows
    above the cursor decoded here (``_by_resource``); EventId finds (day, seq) pairs in ``event_keys``.
    Each statement names the day partitions it reads (``_newest``): planning a Merge Append over every
    day cost more than running it."""
    cursor_time, cursor_seq = query.before or (query.end_ms + 1, 0)
    window = (query.start_ms, min(query.end_ms, cursor_time), cursor_time, cursor_seq)
    attribute, value = query.attribute, query.value or ""
    kind = int(query.kind)
    # read_only is a literal (our own number, never the caller's text): history's writes index is
    # partial, and the planner proves a partial index's predicate from constants.
    if attribute in _COLUMN_OF:
        condition = f"AND {{t}}.{_COLUMN_OF[attribute]} = %s "
        rows = _indexed(conn, sid, kind, window, query.limit, condition, [value.encode()])
    elif attribute == "ReadOnly":
        if value not in ("true", "false"):
            return []
        flag = 1 if value == "true" else 0
        rows = _indexed(conn, sid, kind, window, query.limit, f"AND {{t}}.read_only = {flag:d} ", [])
    elif attribute is None:
        rows = _indexed(conn, sid, kind, window, query.limit, "", [])
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
            (sid, sorted({day for day, _ in keys}), [seq for _, seq in keys], *window, query.limit),
        ).fetchall()
    elif attribute in ("ResourceType", "ResourceName"):
        rows = _by_resource(conn, sid, kind, window, query.limit, attribute, value)
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
            if any(pair[at] == value for pair in _resources.decode(row[11]))
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


def read_log(
    conn: psycopg.Connection[Any],
    account: str,
    after: int,
    limit: int,
    until: int | None,
    region: str | None,
) -> LogSlice:
    """``Store.read_log``, in one snapshot: the committed high-water mark, then one range scan of the
    days that range touches, filtered by stream. Every number at or below the mark belongs to a committed
    row or to none (rule 3 above), so the range is complete."""
    found = conn.execute("SELECT high FROM log_state").fetchone()
    bound = min(after + limit, int(found[0]) if found else 0)
    if until is not None:
        bound = min(bound, until)
    if bound <= after:
        return LogSlice(after, [], {})
    regions = {
        int(sid): name
        for sid, name in conn.execute("SELECT id, region FROM streams WHERE account = %s", (account,))
        if region is None or name == region
    }
    if not regions:
        return LogSlice(bound, [], {})
    days = [
        day
        for (day,) in conn.execute(
            "SELECT day FROM day_spans WHERE last_seq > %s AND first_seq <= %s", (after, bound)
        )
    ]
    rows = conn.execute(
        "SELECT seq, stream, kind, read_only, event_source, time, record, facts FROM events "
        "WHERE day = ANY(%s) AND seq > %s AND seq <= %s AND stream = ANY(%s) ORDER BY seq",
        (days, after, bound, list(regions)),
    ).fetchall()
    return LogSlice(
        bound,
        [(r[0], r[1], r[2], r[3], _str(r[4]), r[5], bytes(r[6]), _bytes(r[7])) for r in rows],
        regions,
    )
