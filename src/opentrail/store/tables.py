"""Tables beyond the event log and the documents: the real-time path's log groups and their events,
metric datapoints, alarms and their history (``store/logs.py``, ``store/metrics.py``,
``store/alarms.py``).

Each set of tables is a ``Tables`` bound to the SQL store (``store.logs``, ``store.metrics``,
``store.alarms``), writing its statements once with ``?`` placeholders (``sql``) and running them
through the store's guarded primitives, so a driver error leaves as ``StoreError`` as everywhere else:
``read`` (a connection for reads) and ``write`` (one transaction: SQLite's writer thread, a pooled
PostgreSQL connection inside ``BEGIN``/``COMMIT``).

Consumers that turn one table into another (a trail's events into a log group, log events into metric
datapoints) keep a durable cursor in ``cursors`` and move it in the same transaction as what they
wrote, with a compare-and-set (``advance_cursor``): two nodes that both read past the same cursor
cannot both write, so each row is turned into its output exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from opentrail.errors import ConflictError

if TYPE_CHECKING:
    from opentrail.store.sql import Connection, Dialect, SQLStore

__all__ = ["Tables", "advance_cursor", "read_cursor"]

T = TypeVar("T")


class Tables:
    """A set of tables on ``store``; subclasses add the methods their domain calls."""

    def __init__(self, store: SQLStore[Any]) -> None:
        self.store = store
        self.dialect: Dialect = store.driver

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders, in this store's dialect."""
        return self.dialect.sql(text)

    def read(self, fn: Callable[[Any], T]) -> T:
        return self.store.read_with(fn)

    def write(self, fn: Callable[[Any], T]) -> T:
        return self.store.write_with(fn)


def read_cursor(conn: Connection, dialect: Dialect, name: str) -> int:
    """Where the consumer ``name`` stands (0 before its first pass)."""
    row = conn.execute(dialect.sql("SELECT seq FROM cursors WHERE name = ?"), (name,)).fetchone()
    return 0 if row is None else int(row[0])


def advance_cursor(conn: Connection, dialect: Dialect, name: str, old: int, new: int) -> None:
    """Move ``name`` from ``old`` to ``new`` inside the caller's transaction, or raise ``ConflictError``
    (rolling the caller's writes back with it) when another writer moved it first."""
    if old == 0:
        conn.execute(
            dialect.sql("INSERT INTO cursors (name, seq) VALUES (?, 0) ON CONFLICT DO NOTHING"), (name,)
        )
    moved = conn.execute(
        dialect.sql("UPDATE cursors SET seq = ? WHERE name = ? AND seq = ?"), (new, name, old)
    )
    if moved.rowcount != 1:
        raise ConflictError(f"cursor {name!r} moved past {old} under this writer")
