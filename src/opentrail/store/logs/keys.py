"""Finding a log group's and a stream's row ids by name, inside the caller's transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrail.store.sql import Dialect

__all__ = ["group_id", "locked_group_id", "stream_id"]


def group_id(conn: Any, dialect: Dialect, account: str, region: str, name: str) -> int | None:
    row = conn.execute(
        dialect.sql("SELECT id FROM log_groups WHERE account = ? AND region = ? AND name = ?"),
        (account, region, name),
    ).fetchone()
    return None if row is None else int(row[0])


def locked_group_id(conn: Any, dialect: Dialect, account: str, region: str, name: str) -> int | None:
    """The group's id, its row locked until the transaction ends (PostgreSQL; SQLite has one writer),
    so read-modify-writes of one group (its tags, its metric filters' limit) take turns."""
    row = conn.execute(
        dialect.sql(
            "UPDATE log_groups SET group_class = group_class "
            "WHERE account = ? AND region = ? AND name = ? RETURNING id"
        ),
        (account, region, name),
    ).fetchone()
    return None if row is None else int(row[0])


def stream_id(conn: Any, dialect: Dialect, group: int, name: str) -> int | None:
    row = conn.execute(
        dialect.sql("SELECT id FROM log_streams WHERE group_id = ? AND name = ?"), (group, name)
    ).fetchone()
    return None if row is None else int(row[0])
