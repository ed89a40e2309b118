"""Metric alarms' state and their history (CloudWatch's DescribeAlarms and DescribeAlarmHistory).

An alarm is one row per (account, region, name): its configuration and state as one JSON body (the
domain's, ``streams/alarms/model.py``; the store does not look inside) and a ``version`` that every
change bumps. Every change is a compare-and-set on that version, in one transaction with what goes with
it: the history rows it writes, and the documents it queues (the outbox notices of a transition,
``delivery/outbox.py``), inserted unless already there. So an evaluation that read a version another
node or a PutMetricAlarm has since replaced writes nothing, and a transition, its history item and its
notifications are kept together or not at all.

History rows outlive their alarm (CloudWatch keeps a deleted alarm's history) and are read newest or
oldest first by (time, id).

When several nodes share the database, each alarm is evaluated by the node holding its lease
(``lease``): a node takes free or expired leases and renews its own in one statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from opentrail.errors import ConflictError
from opentrail.store.base import Doc
from opentrail.store.tables import Tables

__all__ = ["AlarmTables", "HistoryQuery", "HistoryRow", "StoredAlarm"]

# How often a change that lost a race with another writer is tried again before giving up.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StoredAlarm:
    account: str
    region: str
    name: str
    body: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One AlarmHistoryItem; ``id`` orders rows of the same time (0 before it is stored)."""

    account: str
    region: str
    name: str
    alarm_type: str
    item_type: str
    at: float
    summary: str
    data: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    account: str
    region: str
    name: str | None = None
    item_type: str | None = None
    start: float | None = None
    end: float | None = None
    ascending: bool = False
    after: tuple[float, int] | None = None  # the (at, id) of the last row of the previous page
    limit: int = 100


# A change of one alarm: given its stored body (None when absent) and the number of alarms the account
# has in the region, the new body (None: delete it), the history rows and the documents to add with it.
Change = Callable[[dict[str, Any] | None, int], tuple[dict[str, Any] | None, list[HistoryRow], list[Doc]]]

_ALARM_COLUMNS = "account, region, name, body, version"
_HISTORY_COLUMNS = "account, region, name, alarm_type, item_type, at, summary, data"


def _alarm(row: tuple[Any, ...]) -> StoredAlarm:
    return StoredAlarm(row[0], row[1], row[2], msgspec.json.decode(row[3]), int(row[4]))


def _encode(body: dict[str, Any]) -> str:
    return msgspec.json.encode(body).decode()


class AlarmTables(Tables):
    """The alarms' tables."""

    # -- reads ------------------------------------------------------------------------------------------
    def get(self, account: str, region: str, name: str) -> StoredAlarm | None:
        return self.read(lambda conn: self._get(conn, account, region, name))

    def _get(self, conn: Any, account: str, region: str, name: str) -> StoredAlarm | None:
        sql = self.sql(f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE account = ? AND region = ? AND name = ?")
        row = conn.execute(sql, (account, region, name)).fetchone()
        return None if row is None else _alarm(row)

    def in_region(self, account: str, region: str) -> list[StoredAlarm]:
        """The account's alarms in the region, by name in byte order."""
        sql = self.sql(
            f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE account = ? AND region = ? "
            f"ORDER BY {self.dialect.ordered('name')}"
        )
        return self.read(lambda conn: [_alarm(r) for r in conn.execute(sql, (account, region)).fetchall()])

    # -- changes ----------------------------------------------------------------------------------------
    def change(self, account: str, region: str, name: str, change: Change) -> StoredAlarm | None:
        """Read the alarm, apply ``change`` and write what it returns, all in one transaction, retried
        when another writer changed the alarm meanwhile. ``change`` may raise (nothing is written).
        The alarm as now stored, or None when it is deleted or absent."""
        for attempt in range(ATTEMPTS):
            try:
                return self.write(lambda conn: self._change(conn, account, region, name, change))
            except ConflictError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _change(self, conn: Any, account: str, region: str, name: str, change: Change) -> StoredAlarm | None:
        current = self._get(conn, account, region, name)
        count_sql = self.sql("SELECT COUNT(*) FROM alarms WHERE account = ? AND region = ?")
        count = int(conn.execute(count_sql, (account, region)).fetchone()[0])
        body, rows, docs = change(None if current is None else current.body, count)
        stored: StoredAlarm | None = None
        if current is None and body is not None:
            sql = self.sql(f"INSERT INTO alarms ({_ALARM_COLUMNS}) VALUES (?, ?, ?, ?, 1)")
            with self.dialect.conflict(f"alarm {name} was created meanwhile"):
                conn.execute(sql, (account, region, name, _encode(body)))
            stored = StoredAlarm(account, region, name, body, 1)
        elif current is not None and body is not None:
            self._swap(conn, current, body)
            stored = StoredAlarm(account, region, name, body, current.version + 1)
        elif current is not None:
            sql = self.sql("DELETE FROM alarms WHERE account = ? AND region = ? AND name = ? AND version = ?")
            if conn.execute(sql, (account, region, name, current.version)).rowcount != 1:
                raise ConflictError(f"alarm {name} changed meanwhile")
        self._add(conn, rows, docs)
        return stored

    def _swap(self, conn: Any, current: StoredAlarm, body: dict[str, Any]) -> None:
        sql = self.sql(
            "UPDATE alarms SET body = ?, version = ? "
            "WHERE account = ? AND region = ? AND name = ? AND version = ?"
        )
        key = (current.account, current.region, current.name, current.version)
        if conn.execute(sql, (_encode(body), current.version + 1, *key)).rowcount != 1:
            raise ConflictError(f"alarm {current.name} changed meanwhile")

    def replace(
        self, alarm: StoredAlarm, body: dict[str, Any], rows: Sequence[HistoryRow], docs: Sequence[Doc]
    ) -> bool:
        """Store ``body`` as ``alarm``'s next version with its history rows and documents, if the alarm
        is still at ``alarm.version``; False (nothing written) when it changed or went meanwhile."""

        def run(conn: Any) -> None:
            self._swap(conn, alarm, body)
            self._add(conn, rows, docs)

        try:
            self.write(run)
        except ConflictError:
            return False
        return True

    def delete(
        self, account: str, region: str, names: Sequence[str], rows: Sequence[HistoryRow]
    ) -> list[str]:
        """Delete every alarm named, with their history rows, or none: the names that are missing."""

        def run(conn: Any) -> list[str]:
            missing = [n for n in names if self._get(conn, account, region, n) is None]
            if missing:
                return missing
            sql = self.sql("DELETE FROM alarms WHERE account = ? AND region = ? AND name = ?")
            for name in names:
                conn.execute(sql, (account, region, name))
            self._add(conn, rows, ())
            return []

        return self.write(run)

    def _add(self, conn: Any, rows: Sequence[HistoryRow], docs: Sequence[Doc]) -> None:
        history = self.sql(f"INSERT INTO alarm_history ({_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        for r in rows:
            conn.execute(
                history, (r.account, r.region, r.name, r.alarm_type, r.item_type, r.at, r.summary, r.data)
            )
        doc_sql = self.sql(
            "INSERT INTO docs (kind, account, region, name, arn, body) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING"
        )
        for d in docs:
            body = msgspec.json.encode(d.body)
            conn.execute(doc_sql, (d.kind, d.account, d.region, d.name, d.arn, body))

    def record(self, rows: Sequence[HistoryRow]) -> None:
        """History rows on their own (an action's outcome, after its notification was attempted)."""
        self.write(lambda conn: self._add(conn, rows, ()))

    # -- history ----------------------------------------------------------------------------------------
    def history(self, query: HistoryQuery) -> list[HistoryRow]:
        where = ["account = ?", "region = ?"]
        args: list[Any] = [query.account, query.region]
        for column, value in (("name", query.name), ("item_type", query.item_type)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.start is not None:
            where.append("at >= ?")
            args.append(query.start)
        if query.end is not None:
            where.append("at <= ?")
            args.append(query.end)
        if query.after is not None:
            where.append(
                "(at > ? OR (at = ? AND id > ?))" if query.ascending else "(at < ? OR (at = ? AND id < ?))"
            )
            args += [query.after[0], query.after[0], query.after[1]]
        order = "ASC" if query.ascending else "DESC"
        sql = self.sql(
            f"SELECT {_HISTORY_COLUMNS}, id FROM alarm_history WHERE {' AND '.join(where)} "
            f"ORDER BY at {order}, id {order} LIMIT ?"
        )
        found = self.read(lambda conn: conn.execute(sql, (*args, query.limit)).fetchall())
        return [HistoryRow(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], r[7], int(r[8])) for r in found]

    def purge_history(self, before: float) -> int:
        """Remove history items older than ``before``; how many were removed."""
        sql = self.sql("DELETE FROM alarm_history WHERE at < ?")
        return self.write(lambda conn: int(conn.execute(sql, (before,)).rowcount))

    # -- leases -----------------------------------------------------------------------------------------
    def lease(self, node: str, now: float, seconds: float) -> list[StoredAlarm]:
        """Take every alarm whose lease is free, expired or already ``node``'s, until ``now + seconds``;
        the alarms ``node`` now holds."""

        def run(conn: Any) -> list[StoredAlarm]:
            take = self.sql(
                "UPDATE alarms SET lease_node = ?, lease_until = ? "
                "WHERE lease_node IS NULL OR lease_node = ? OR lease_until <= ?"
            )
            conn.execute(take, (node, now + seconds, node, now))
            held = self.sql(f"SELECT {_ALARM_COLUMNS} FROM alarms WHERE lease_node = ? AND lease_until > ?")
            return [_alarm(r) for r in conn.execute(held, (node, now)).fetchall()]

        return self.write(run)

    def every(self) -> list[StoredAlarm]:
        """Every alarm of every account (one process alone on its store needs no leases)."""
        sql = self.sql(f"SELECT {_ALARM_COLUMNS} FROM alarms")
        return self.read(lambda conn: [_alarm(r) for r in conn.execute(sql).fetchall()])
