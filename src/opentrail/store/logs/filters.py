"""Metric filters' definitions, per log group (at most ``limit`` each, as CloudWatch Logs allows)."""

from __future__ import annotations

from typing import Any

import msgspec

from opentrail.store.logs.keys import group_id, locked_group_id
from opentrail.store.logs.rows import MetricFilter
from opentrail.store.tables import Tables

__all__ = ["FilterTables"]

_FILTER_SELECT = (
    "SELECT g.account, g.region, g.name, f.name, f.pattern, f.transformations, f.created "
    "FROM metric_filters f JOIN log_groups g ON g.id = f.group_id"
)


def _filter(row: tuple[Any, ...]) -> MetricFilter:
    return MetricFilter(
        account=row[0],
        region=row[1],
        group=row[2],
        name=row[3],
        pattern=row[4],
        transformations=msgspec.json.decode(row[5]),
        created=int(row[6]),
    )


class FilterTables(Tables):
    """Metric filters, by (group, name)."""

    def put_metric_filter(self, metric_filter: MetricFilter, *, limit: int = 100) -> bool:
        """Store the filter, replacing the group's filter of that name; False, with nothing stored, when
        it is new and the group has ``limit`` already. ``KeyError`` when the group is missing."""
        f = metric_filter
        body = msgspec.json.encode(f.transformations).decode()

        def run(conn: Any) -> bool:
            gid = locked_group_id(conn, self.dialect, f.account, f.region, f.group)
            if gid is None:
                raise KeyError(f.group)
            updated = conn.execute(
                self.sql(
                    "UPDATE metric_filters SET pattern = ?, transformations = ? "
                    "WHERE group_id = ? AND name = ?"
                ),
                (f.pattern, body, gid, f.name),
            )
            if updated.rowcount > 0:
                return True
            count = conn.execute(self.sql("SELECT count(*) FROM metric_filters WHERE group_id = ?"), (gid,))
            if int(count.fetchone()[0]) >= limit:
                return False
            conn.execute(
                self.sql(
                    "INSERT INTO metric_filters (group_id, name, pattern, transformations, created) "
                    "VALUES (?, ?, ?, ?, ?)"
                ),
                (gid, f.name, f.pattern, body, f.created),
            )
            return True

        return self.write(run)

    def metric_filters(
        self,
        account: str | None = None,
        region: str | None = None,
        group: str | None = None,
    ) -> list[MetricFilter]:
        """Every filter, or one account's (in one region, on one group), by account, region, group and
        filter name (byte order)."""
        sql, args = _FILTER_SELECT, list[str]()
        for column, value in (("g.account", account), ("g.region", region), ("g.name", group)):
            if value is not None:
                sql += (" AND " if args else " WHERE ") + f"{column} = ?"
                args.append(value)
        sql += " ORDER BY " + self.dialect.ordered("g.account", "g.region", "g.name", "f.name")
        rows = self.read(lambda conn: conn.execute(self.sql(sql), tuple(args)).fetchall())
        return [_filter(row) for row in rows]

    def delete_metric_filter(self, account: str, region: str, group: str, name: str) -> bool:
        """False when the group has no filter of the name; ``KeyError`` when the group is missing."""
        sql = self.sql("DELETE FROM metric_filters WHERE group_id = ? AND name = ?")

        def run(conn: Any) -> bool:
            gid = group_id(conn, self.dialect, account, region, group)
            if gid is None:
                raise KeyError(group)
            return bool(conn.execute(sql, (gid, name)).rowcount > 0)

        return self.write(run)
