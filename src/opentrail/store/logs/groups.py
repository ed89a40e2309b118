"""Log groups: created, listed, changed (retention, tags) and deleted with everything in them; and
retention's purge of events older than their group keeps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail.store.logs.keys import locked_group_id
from opentrail.store.logs.rows import LogGroup
from opentrail.store.tables import Tables

__all__ = ["GroupTables"]

DAY_MS = 86_400_000
PURGE_CHUNK = 10_000

# stored_bytes and metric_filter_count are computed, not kept: they cannot drift from the rows.
_GROUP_COLUMNS = (
    "g.account, g.region, g.name, g.created, g.retention_days, g.kms_key_id, g.group_class, g.tags, "
    "(SELECT coalesce(sum(s.stored_bytes), 0) FROM log_streams s WHERE s.group_id = g.id), "
    "(SELECT count(*) FROM metric_filters f WHERE f.group_id = g.id)"
)


def _group(row: tuple[Any, ...]) -> LogGroup:
    return LogGroup(
        account=row[0],
        region=row[1],
        name=row[2],
        created=int(row[3]),
        retention_days=None if row[4] is None else int(row[4]),
        kms_key_id=row[5],
        group_class=row[6],
        tags=msgspec.json.decode(row[7]),
        stored_bytes=int(row[8]),
        metric_filter_count=int(row[9]),
    )


class GroupTables(Tables):
    """Log groups, by (account, region, name)."""

    def create_group(self, group: LogGroup) -> LogGroup:
        """Store a new group; ``ConflictError`` when the account has one of the name in the region."""
        sql = self.sql(
            "INSERT INTO log_groups (account, region, name, created, retention_days, kms_key_id, "
            "group_class, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        values = (
            group.account,
            group.region,
            group.name,
            group.created,
            group.retention_days,
            group.kms_key_id,
            group.group_class,
            msgspec.json.encode(group.tags).decode(),
        )

        def run(conn: Any) -> LogGroup:
            with self.dialect.conflict(f"log group {group.name} already exists"):
                conn.execute(sql, values)
            return group

        return self.write(run)

    def group(self, account: str, region: str, name: str) -> LogGroup | None:
        sql = self.sql(
            f"SELECT {_GROUP_COLUMNS} FROM log_groups g WHERE account = ? AND region = ? AND name = ?"
        )
        row = self.read(lambda conn: conn.execute(sql, (account, region, name)).fetchone())
        return None if row is None else _group(row)

    def groups(
        self,
        account: str,
        region: str,
        *,
        prefix: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> list[LogGroup]:
        """Up to ``limit`` of the account's groups in the region, by name (byte order), those named
        past ``after`` and starting with ``prefix``."""
        sql = f"SELECT {_GROUP_COLUMNS} FROM log_groups g WHERE account = ? AND region = ?"
        args: list[Any] = [account, region]
        if prefix:
            sql += " AND substr(name, 1, ?) = ?"
            args += [len(prefix), prefix]
        if after is not None:
            sql += f" AND name{self.dialect.collate} > ?"
            args.append(after)
        sql += f" ORDER BY {self.dialect.ordered('name')} LIMIT ?"
        args.append(limit)
        rows = self.read(lambda conn: conn.execute(self.sql(sql), tuple(args)).fetchall())
        return [_group(row) for row in rows]

    def all_groups(self) -> list[LogGroup]:
        """Every account's groups (retention walks them)."""
        sql = f"SELECT {_GROUP_COLUMNS} FROM log_groups g ORDER BY g.id"
        return [_group(row) for row in self.read(lambda conn: conn.execute(sql).fetchall())]

    def update_group(
        self, account: str, region: str, name: str, change: Callable[[LogGroup], LogGroup]
    ) -> LogGroup:
        """Apply ``change`` to the group's retention, KMS key and tags in one transaction, the group
        locked meanwhile; ``KeyError`` when there is no such group. ``change`` may raise to refuse."""
        select = self.sql(f"SELECT {_GROUP_COLUMNS} FROM log_groups g WHERE g.id = ?")
        update = self.sql("UPDATE log_groups SET retention_days = ?, kms_key_id = ?, tags = ? WHERE id = ?")

        def run(conn: Any) -> LogGroup:
            gid = locked_group_id(conn, self.dialect, account, region, name)
            if gid is None:
                raise KeyError(name)
            new = change(_group(conn.execute(select, (gid,)).fetchone()))
            tags = msgspec.json.encode(new.tags).decode()
            conn.execute(update, (new.retention_days, new.kms_key_id, tags, gid))
            return new

        return self.write(run)

    def delete_group(self, account: str, region: str, name: str) -> bool:
        """Remove the group with its streams, events and metric filters; False when there was none."""
        sql = self.sql("DELETE FROM log_groups WHERE account = ? AND region = ? AND name = ?")
        return self.write(lambda conn: bool(conn.execute(sql, (account, region, name)).rowcount > 0))

    def purge(self, now_ms: int) -> int:
        """Remove the events older than their group's retention (by event timestamp, as CloudWatch Logs
        expires them), in small transactions; return how many went."""
        sql = self.sql("SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL")
        kept = self.read(lambda conn: conn.execute(sql).fetchall())
        total = 0
        for gid, days in kept:
            total += self._purge_group(int(gid), now_ms - int(days) * DAY_MS)
        return total

    def _purge_group(self, gid: int, cutoff: int) -> int:
        removed = 0
        while (chunk := self.write(lambda conn: self._purge_chunk(conn, gid, cutoff))) > 0:
            removed += chunk
        if removed:
            self.write(lambda conn: self._recount(conn, gid))
        return removed

    def _purge_chunk(self, conn: Any, gid: int, cutoff: int) -> int:
        found = conn.execute(
            self.sql(
                "SELECT max(seq) FROM (SELECT seq FROM log_events WHERE group_id = ? AND time < ? "
                "ORDER BY group_id, time, seq LIMIT ?) AS oldest"
            ),
            (gid, cutoff, PURGE_CHUNK),
        ).fetchone()
        if found is None or found[0] is None:
            return 0
        sql = self.sql("DELETE FROM log_events WHERE group_id = ? AND time < ? AND seq <= ?")
        return int(conn.execute(sql, (gid, cutoff, found[0])).rowcount)

    def _recount(self, conn: Any, gid: int) -> None:
        """The group's streams' stored bytes and first event after a purge."""
        conn.execute(
            self.sql(
                "UPDATE log_streams SET "
                "stored_bytes = (SELECT coalesce(sum(e.size), 0) FROM log_events e "
                "WHERE e.stream_id = log_streams.id), "
                "first_event = (SELECT min(e.time) FROM log_events e WHERE e.stream_id = log_streams.id) "
                "WHERE group_id = ?"
            ),
            (gid,),
        )
