"""Appending a group to the PostgreSQL log (ADRs 0007 and 0010).

A group whose identities are all new is copied (binary COPY) straight into the day's partition of the
log (``append_direct``). A group holding an identity stored already (a client's retry) is copied into
temporary staging tables instead, then one statement numbers it from ``log_state.high``, drops rows whose
(account, eventID, eventTime) is stored already (``event_keys``) and moves the rest into the log.

**Commit order = read order** (DESIGN.md rule 3). Every appending transaction takes the transaction-level
advisory lock ``LOG_LOCK`` before it reads ``log_state.high``, and PostgreSQL releases a transaction's
locks only after its commit is visible. So a transaction that numbers rows after another one's can
commit only after that one is visible, and any snapshot sees a prefix of the log: a reader of
``seq > cursor`` never misses a row that commits later with a lower number, in this process or any other.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg

from opentrail.events import EventRow
from opentrail.store.base import account_number
from opentrail.store.log import encode_resources

LOG_LOCK = 0x6F74_6C6F  # pg_advisory_xact_lock key of the event log ("otlo")

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
        encode_resources(row.resources),
        row.facts,
    )


# The direct path: a group whose identities are all new (every group but a client's retry) is copied
# straight into the day's partition of the log, numbered before it is sent, where MOVE_SQL wrote every
# record twice (staging, then the log) and inserted the log row by row (COPY fills a page at a time).
# Round trips are what a group waits on when the machine is busy (each one ~1 ms with the cores
# shared), so the transaction takes four, not thirteen: BEGIN, the lock and ``high`` in one simple
# query; the COPY of the records; then one simple query with the identities (read back from the rows
# just copied), the day's spans, ``high`` and COMMIT. A stored identity fails that statement; the group
# then takes the staging path. (Resource attributes are history's: ``postgres/history.py``.)
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


def append(conn: psycopg.Connection[Any], day: int, rows: list[tuple[Any, ...]]) -> int:
    """Append ``rows`` (``staged`` tuples, ``ord`` 1-based) to the log in one transaction on ``conn``
    (autocommit), numbered in order under the log's lock; return the log's new ``high``. The first of
    each identity is kept; the later ones, and identities stored already, leave gaps in the numbers."""
    high = append_direct(conn, day, rows)
    if high is not None:
        return high
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
        found = cur.execute("SELECT high FROM log_state").fetchone()
        base = int(found[0]) if found else 0
        with cur.copy(COPY_EVENTS) as copy:
            copy.set_types(EVENT_TYPES)
            for values in rows:
                copy.write_row(values)
        cur.execute(MOVE_SQL, {"day": day, "base": base, "count": len(rows)})
    return base + len(rows)
