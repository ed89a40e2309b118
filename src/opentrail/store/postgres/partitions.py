"""The day partitions of the PostgreSQL log (ADR 0007): the log, its resource attributes and history are
partitioned by ingestion day, so retention drops whole days instead of deleting rows one by one."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

# Taken (exclusively) around creating and dropping day partitions, and shared by history's indexer: a
# partition's DDL locks the parents of the log, attributes and history in turn, an indexer's pass locks
# them in another order, and without this each could hold what the other waits for (a deadlock).
PARTITION_LOCK = 0x6F74_7061  # pg_advisory_xact_lock key ("otpa")
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


def drop_day(conn: psycopg.Connection[Any], day: int) -> int:
    """Drop one day's partitions and keys (inside the caller's transaction); return how many events.

    Dropping a partition locks the whole log for a moment; the drop waits at most 5 s for readers and
    writers to let go (then the purge fails, to be retried) rather than queue every caller behind it.
    Processes purging at once take turns under ``PARTITION_LOCK``; a day another one dropped counts 0."""
    conn.execute("SET LOCAL lock_timeout = '5s'")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
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


class Partitions:
    """The days whose partitions one store knows exist: its writer creates each day's (and the next
    day's, ahead of need) once, not once a group."""

    def __init__(self) -> None:
        self._days: set[int] = set()

    def ensure(self, conn: psycopg.Connection[Any], day: int) -> None:
        """Create the partitions of ``day`` and the day after, unless they exist."""
        for wanted in (day, day + 1):
            if wanted in self._days:
                continue
            found = conn.execute("SELECT to_regclass(%s)", (f"events_d{wanted}",)).fetchone()
            if found is None or found[0] is None:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK,))
                    for statement in partition_sql(wanted):
                        conn.execute(statement)
            self._days.add(wanted)

    def forget(self) -> None:
        """After a failed write: a purge elsewhere may have dropped a partition this store knew."""
        self._days.clear()

    def drop_before(self, conn: psycopg.Connection[Any], day: int) -> int:
        """Drop the days wholly before ``day``, a day a transaction; return how many events went."""
        total = 0
        for old in partition_days(conn):
            if old >= day:
                break
            with conn.transaction():
                total += drop_day(conn, old)
            self._days.discard(old)
        return total
