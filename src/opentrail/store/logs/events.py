"""Log events: appended to a stream under one global sequence, read forward by consumers
(``events_after``) and by time within a stream or a group (GetLogEvents, FilterLogEvents).

**Commit order = read order** (DESIGN.md rule 3). Every append first updates the one row of
``log_event_state`` and only then reads ``high`` and numbers its events from it. On PostgreSQL that
row's lock is held until the transaction commits, so a transaction numbering events after another
one's waits for that commit, and any snapshot sees a prefix of the sequence: a consumer reading
``seq > cursor`` never misses an event that commits later with a lower number, in this process or
another. SQLite has one writer, so there it holds by itself.

Idempotent redelivery: an event may carry a ``source_id``, unique in its stream. A repeat (already
stored, or twice in one batch) is skipped and takes no number, so the numbers stay dense.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentrail.clock import SystemClock, to_millis
from opentrail.store.logs.keys import group_id, stream_id
from opentrail.store.logs.rows import LogEvent
from opentrail.store.tables import Tables, advance_cursor

__all__ = ["EVENT_OVERHEAD", "EventTables", "Position"]

# CloudWatch Logs counts 26 bytes per event beside its message's UTF-8 bytes (batch sizes, storedBytes).
EVENT_OVERHEAD = 26
SOURCE_CHUNK = 500

Position = tuple[int, int]
"""Where a read by time stands: the (timestamp, seq) of the last event it returned."""

_EVENT_COLUMNS = (
    "e.seq, g.account, g.region, g.name, s.name, e.time, e.ingested, e.message "
    "FROM log_events e JOIN log_streams s ON s.id = e.stream_id JOIN log_groups g ON g.id = e.group_id"
)


def _event(row: tuple[Any, ...]) -> LogEvent:
    return LogEvent(
        seq=int(row[0]),
        account=row[1],
        region=row[2],
        group=row[3],
        stream=row[4],
        timestamp=int(row[5]),
        ingestion_time=int(row[6]),
        message=bytes(row[7]).decode("utf-8", "replace"),
    )


class EventTables(Tables):
    """Log events and the global sequence that numbers them."""

    def append(
        self,
        account: str,
        region: str,
        group: str,
        stream: str,
        events: Sequence[tuple[int, str]],
        *,
        source_ids: Sequence[str] | None = None,
        cursor: tuple[str, int, int] | None = None,
        create_stream: bool = False,
        ingested: int | None = None,
    ) -> int:
        """Store ``events`` ((timestamp ms, message), in the order given) in one transaction, numbered
        after every committed event; return how many were stored (repeats of a ``source_ids`` entry
        are not). ``cursor`` (name, old, new) is moved in the same transaction (``advance_cursor``:
        ``ConflictError`` and nothing stored when another writer moved it). ``KeyError`` when the
        group, or the stream (unless ``create_stream``), does not exist. ``ingested``: the ingestion
        time in ms (default now)."""
        if source_ids is not None and len(source_ids) != len(events):
            raise ValueError(f"{len(source_ids)} source ids for {len(events)} events")
        now = to_millis(SystemClock().now()) if ingested is None else ingested
        encoded = [(int(t), message.encode("utf-8", "surrogatepass")) for t, message in events]

        def run(conn: Any) -> int:
            gid, sid = self._target(conn, account, region, group, stream, create_stream, now)
            conn.execute("UPDATE log_event_state SET high = high WHERE id = 1")  # the sequence's lock
            high = int(conn.execute("SELECT high FROM log_event_state WHERE id = 1").fetchone()[0])
            kept = self._new_events(conn, sid, encoded, source_ids)
            if kept:
                rows = [
                    (high + n, gid, sid, t, now, len(body) + EVENT_OVERHEAD, body, source)
                    for n, (t, body, source) in enumerate(kept, 1)
                ]
                conn.cursor().executemany(
                    self.sql(
                        "INSERT INTO log_events (seq, group_id, stream_id, time, ingested, size, message, "
                        "source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    ),
                    rows,
                )
                self._account_for(conn, sid, rows)
                conn.execute(
                    self.sql("UPDATE log_event_state SET high = ? WHERE id = 1"), (high + len(rows),)
                )
            if cursor is not None:
                advance_cursor(conn, self.dialect, *cursor)
            return len(kept)

        return self.write(run)

    def _target(
        self, conn: Any, account: str, region: str, group: str, stream: str, create: bool, now: int
    ) -> tuple[int, int]:
        gid = group_id(conn, self.dialect, account, region, group)
        if gid is None:
            raise KeyError(group)
        sid = stream_id(conn, self.dialect, gid, stream)
        if sid is None:
            if not create:
                raise KeyError(stream)
            conn.execute(
                self.sql(
                    "INSERT INTO log_streams (group_id, name, created) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING"
                ),
                (gid, stream, now),
            )
            sid = stream_id(conn, self.dialect, gid, stream)
            if sid is None:
                raise KeyError(stream)
        return gid, sid

    def _new_events(
        self,
        conn: Any,
        sid: int,
        encoded: list[tuple[int, bytes]],
        source_ids: Sequence[str] | None,
    ) -> list[tuple[int, bytes, str | None]]:
        """The events to store: all of them, or, with source ids, those whose id the stream has not
        stored yet (the first of each id in the batch). Under the sequence's lock: nobody else is
        adding one meanwhile."""
        if source_ids is None:
            return [(t, body, None) for t, body in encoded]
        stored: set[str] = set()
        unique = list(dict.fromkeys(source_ids))
        for start in range(0, len(unique), SOURCE_CHUNK):
            chunk = unique[start : start + SOURCE_CHUNK]
            marks = ", ".join("?" * len(chunk))
            sql = self.sql(f"SELECT source_id FROM log_events WHERE stream_id = ? AND source_id IN ({marks})")
            stored.update(row[0] for row in conn.execute(sql, (sid, *chunk)))
        kept: list[tuple[int, bytes, str | None]] = []
        for (t, body), source in zip(encoded, source_ids, strict=True):
            if source not in stored:
                stored.add(source)
                kept.append((t, body, source))
        return kept

    def _account_for(self, conn: Any, sid: int, rows: list[tuple[Any, ...]]) -> None:
        """The stream's first and last event timestamps, last ingestion, last number and bytes."""
        first, last = min(row[3] for row in rows), max(row[3] for row in rows)
        current = conn.execute(
            self.sql("SELECT first_event, last_event FROM log_streams WHERE id = ?"), (sid,)
        ).fetchone()
        if current[0] is not None:
            first = min(first, int(current[0]))
        if current[1] is not None:
            last = max(last, int(current[1]))
        conn.execute(
            self.sql(
                "UPDATE log_streams SET first_event = ?, last_event = ?, last_ingestion = ?, last_seq = ?, "
                "stored_bytes = stored_bytes + ? WHERE id = ?"
            ),
            (first, last, rows[-1][4], rows[-1][0], sum(row[5] for row in rows), sid),
        )

    def events_after(self, after: int, limit: int) -> list[LogEvent]:
        """Up to ``limit`` events of every group numbered past ``after``, in sequence order; one
        statement, so one snapshot, which holds a prefix of the sequence (see the module's note)."""
        sql = self.sql(f"SELECT {_EVENT_COLUMNS} WHERE e.seq > ? ORDER BY e.seq LIMIT ?")
        return [_event(row) for row in self.read(lambda conn: conn.execute(sql, (after, limit)).fetchall())]

    def high(self) -> int:
        """The last number given to a committed event (0 before the first)."""
        sql = "SELECT high FROM log_event_state WHERE id = 1"
        return int(self.read(lambda conn: conn.execute(sql).fetchone()[0]))

    def stream_events(
        self,
        account: str,
        region: str,
        group: str,
        stream: str,
        *,
        start: int | None = None,
        end: int | None = None,
        after: Position | None = None,
        before: Position | None = None,
        backward: bool = False,
        limit: int = 10_000,
    ) -> list[LogEvent]:
        """A stream's events with ``start <= timestamp < end``, oldest first: the ``limit`` oldest past
        ``after``, or (``backward``) the ``limit`` newest before ``before``. ``KeyError`` when the
        group or the stream is missing."""

        def run(conn: Any) -> list[LogEvent]:
            gid = group_id(conn, self.dialect, account, region, group)
            sid = None if gid is None else stream_id(conn, self.dialect, gid, stream)
            if sid is None:
                raise KeyError(stream if gid is not None else group)
            where, args = _window(start, end, after, before)
            order = "DESC" if backward else "ASC"
            sql = self.sql(
                f"SELECT {_EVENT_COLUMNS} WHERE e.stream_id = ?{where} "
                f"ORDER BY e.time {order}, e.seq {order} LIMIT ?"
            )
            rows = [_event(row) for row in conn.execute(sql, (sid, *args, limit)).fetchall()]
            return rows[::-1] if backward else rows

        return self.read(run)

    def group_events(
        self,
        account: str,
        region: str,
        group: str,
        *,
        streams: Sequence[str] | None = None,
        prefix: str | None = None,
        start: int | None = None,
        end: int | None = None,
        after: Position | None = None,
        limit: int = 10_000,
    ) -> list[LogEvent]:
        """Up to ``limit`` events of the group's streams (all, those named in ``streams``, or those
        starting with ``prefix``) with ``start <= timestamp < end``, past ``after``, by (timestamp,
        seq). ``KeyError`` when the group is missing."""

        def run(conn: Any) -> list[LogEvent]:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            where, args = _window(start, end, after, None)
            if streams is not None:
                where += f" AND s.name IN ({', '.join('?' * len(streams))})"
                args += list(streams)
            if prefix:
                where += " AND substr(s.name, 1, ?) = ?"
                args += [len(prefix), prefix]
            sql = self.sql(
                f"SELECT {_EVENT_COLUMNS} WHERE e.group_id = ?{where} ORDER BY e.time, e.seq LIMIT ?"
            )
            return [_event(row) for row in conn.execute(sql, (gid, *args, limit)).fetchall()]

        return self.read(run)


def _window(
    start: int | None, end: int | None, after: Position | None, before: Position | None
) -> tuple[str, list[Any]]:
    where, args = "", []
    if start is not None:
        where += " AND e.time >= ?"
        args.append(start)
    if end is not None:
        where += " AND e.time < ?"
        args.append(end)
    if after is not None:
        where += " AND (e.time, e.seq) > (?, ?)"
        args += list(after)
    if before is not None:
        where += " AND (e.time, e.seq) < (?, ?)"
        args += list(before)
    return where, args
