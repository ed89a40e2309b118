"""Log streams: created in a group, listed by name or by latest event, deleted with their events."""

from __future__ import annotations

from typing import Any

from opentrail.store.logs.keys import group_id
from opentrail.store.logs.rows import LogStream
from opentrail.store.tables import Tables

__all__ = ["StreamTables"]

_STREAM_COLUMNS = "name, created, first_event, last_event, last_ingestion, last_seq, stored_bytes"


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)


def _stream(group: str, row: tuple[Any, ...]) -> LogStream:
    return LogStream(
        group=group,
        name=row[0],
        created=int(row[1]),
        first_event=_opt(row[2]),
        last_event=_opt(row[3]),
        last_ingestion=_opt(row[4]),
        last_seq=_opt(row[5]),
        stored_bytes=int(row[6]),
    )


class StreamTables(Tables):
    """Log streams, by (group, name). Every method raises ``KeyError`` when the group is missing."""

    def create_stream(self, account: str, region: str, group: str, name: str, created: int) -> LogStream:
        """A new stream; ``ConflictError`` when the group has one of the name."""
        sql = self.sql("INSERT INTO log_streams (group_id, name, created) VALUES (?, ?, ?)")

        def run(conn: Any) -> LogStream:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            with self.dialect.conflict(f"log stream {name} already exists"):
                conn.execute(sql, (gid, name, created))
            return LogStream(group, name, created)

        return self.write(run)

    def stream(self, account: str, region: str, group: str, name: str) -> LogStream | None:
        """The stream, or None when the group has none of the name."""
        sql = self.sql(f"SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = ? AND name = ?")

        def run(conn: Any) -> LogStream | None:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            row = conn.execute(sql, (gid, name)).fetchone()
            return None if row is None else _stream(group, row)

        return self.read(run)

    def streams(
        self,
        account: str,
        region: str,
        group: str,
        *,
        prefix: str | None = None,
        by_last_event: bool = False,
        descending: bool = False,
        after: tuple[int, str] | None = None,
        limit: int = 50,
    ) -> list[LogStream]:
        """Up to ``limit`` streams of the group, ordered by name, or by latest event timestamp then name
        (``by_last_event``; a stream with no event counts as 0), past ``after`` (the last one's
        ``(last_event or 0, name)``, the first member ignored when ordering by name)."""
        name = f"name{self.dialect.collate}"
        # Row values compare (last event, name) in one step; ordered by name, the key is the name alone.
        key = f"(coalesce(last_event, 0), {name})" if by_last_event else name
        sql = f"SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = ?"
        args: list[Any] = []
        if prefix:
            sql += " AND substr(name, 1, ?) = ?"
            args += [len(prefix), prefix]
        if after is not None:
            sql += f" AND {key} {'<' if descending else '>'} {'(?, ?)' if by_last_event else '?'}"
            args += list(after) if by_last_event else [after[1]]
        order = " DESC" if descending else ""
        columns = ["coalesce(last_event, 0)", name] if by_last_event else [name]
        sql += " ORDER BY " + ", ".join(column + order for column in columns) + " LIMIT ?"
        args.append(limit)

        def run(conn: Any) -> list[LogStream]:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            rows = conn.execute(self.sql(sql), (gid, *args)).fetchall()
            return [_stream(group, row) for row in rows]

        return self.read(run)

    def delete_stream(self, account: str, region: str, group: str, name: str) -> bool:
        """Remove the stream and its events; False when the group has no such stream."""
        sql = self.sql("DELETE FROM log_streams WHERE group_id = ? AND name = ?")

        def run(conn: Any) -> bool:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            return bool(conn.execute(sql, (gid, name)).rowcount > 0)

        return self.write(run)
