"""The SQL both database backends share: meta, accounts, access keys, grants, buckets, documents and
the streams of the event log, over tables laid out alike in both schemas.

What differs between SQLite and PostgreSQL here lives in one ``Dialect``: placeholders, the collation
that makes text sort in byte order, and which driver errors mean "a key exists". Statements are written
once, with ``?`` placeholders. Both databases understand ``ON CONFLICT DO NOTHING`` (SQLite since
3.24), so inserts that may meet an existing key need no dialect.

``SQLStore`` runs these statements through three primitives each backend supplies, and does nothing
else: ``_read`` (a connection for reads), ``_write`` (SQLite: a task of its one writer thread;
PostgreSQL: a pooled connection) and ``_write_docs`` (the same, serialised per (kind, account) so a
document's ``check`` sees every committed document of its kind: SQLite's writer does that by itself,
PostgreSQL takes an advisory lock).
"""

from __future__ import annotations

import abc
import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import msgspec

from opentrail.errors import ConflictError, StoreError
from opentrail.store.alarms import AlarmTables
from opentrail.store.base import (
    AccessKey,
    Account,
    Change,
    Doc,
    Driver,
    InsertCheck,
    LogRow,
    LogSlice,
    Store,
    UpdateCheck,
)
from opentrail.store.logs import LogTables
from opentrail.store.metrics import MetricTables

__all__ = ["Connection", "Dialect", "SQLStore", "shipped_migrations"]

T = TypeVar("T")


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the shared SQL needs of a connection: ``sqlite3`` and ``psycopg`` connections both fit."""

    def execute(self, query: str, params: tuple[Any, ...] = ..., /) -> Cursor: ...


C = TypeVar("C", bound=Connection)


@dataclass(frozen=True)
class Dialect(Driver):
    """How one database spells what the shared SQL needs."""

    placeholder: str  # "?" or "%s"
    collate: str  # after a text column in ORDER BY: byte order, whatever the database's locale
    unique_errors: tuple[type[Exception], ...]  # a unique key exists
    integrity_errors: tuple[type[Exception], ...]  # any constraint refused the row

    def sql(self, text: str) -> str:
        """``text`` (``?`` placeholders, no ``?`` or ``%`` in literals) in this dialect."""
        if self.placeholder == "?":
            return text
        return text.replace("%", "%%").replace("?", self.placeholder)

    def ordered(self, *columns: str) -> str:
        return ", ".join(f"{column}{self.collate}" for column in columns)

    @contextlib.contextmanager
    def conflict(self, message: str, *, any_constraint: bool = False) -> Iterator[None]:
        """A statement meeting an existing key is ``ConflictError(message)``; with ``any_constraint``,
        so is one any constraint refuses, and the message says which."""
        errors = self.integrity_errors if any_constraint else self.unique_errors
        try:
            yield
        except errors as exc:
            raise ConflictError(f"{message}: {exc}" if any_constraint else message) from None


def shipped_migrations(backend: str) -> list[tuple[int, str]]:
    """The migration scripts shipped for ``backend`` (``migrations/<backend>/NNNN_*.sql``), oldest first."""
    folder = resources.files("opentrail.store") / "migrations" / backend
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


_DOC_COLUMNS = "kind, account, region, name, arn, body"
_KEY_COLUMNS = "access_key_id, secret, account_id, user_name, arn, principal_id, is_root, created"


def _doc(row: tuple[Any, ...]) -> Doc:
    return Doc(row[0], row[1], row[2], row[3], row[4], msgspec.json.decode(row[5]))


class SQLStore(Store, Generic[C]):
    """A ``Store`` on a SQL database laid out like OpenTrail's schemas, through connections of type
    ``C``. Subclasses supply the primitives and the event log."""

    driver: ClassVar[Dialect]

    def __init__(self) -> None:
        # (account, region) -> stream id. A stream is never renamed or removed; a backend whose
        # transaction that created one rolls back forgets it again (``_forget_streams``).
        self._stream_ids: dict[tuple[str, str], int] = {}

    # -- the primitives a backend supplies -----------------------------------------------------------
    @abc.abstractmethod
    def _read(self, fn: Callable[[C], T]) -> T: ...

    @abc.abstractmethod
    def _write(self, fn: Callable[[C], T]) -> T: ...

    @abc.abstractmethod
    def _write_docs(self, kind: str, account: str, fn: Callable[[C], T]) -> T: ...

    @abc.abstractmethod
    def _transact(self, fn: Callable[[C], T]) -> T:
        """``fn`` in one write transaction of its own, committed when it returns, rolled back if it raises."""

    # -- the tables beyond the log and the documents (store/tables.py) -------------------------------
    def read_with(self, fn: Callable[[C], T]) -> T:
        """``fn`` on a connection for reads; driver errors leave as ``StoreError``."""
        with self._guard("reading"):
            return self._read(fn)

    def write_with(self, fn: Callable[[C], T]) -> T:
        """``fn`` in one transaction; driver errors leave as ``StoreError``."""
        with self._guard("writing to"):
            return self._transact(fn)

    @functools.cached_property
    def logs(self) -> LogTables:
        return LogTables(self)

    @functools.cached_property
    def metrics(self) -> MetricTables:
        return MetricTables(self)

    @functools.cached_property
    def alarms(self) -> AlarmTables:
        return AlarmTables(self)

    def _q(self, text: str) -> str:
        return self.driver.sql(text)

    # -- meta -----------------------------------------------------------------------------------------
    def _get_meta(self, key: str) -> str | None:
        return self._read(lambda conn: self._meta(conn, key))

    def _meta(self, conn: C, key: str) -> str | None:
        row = conn.execute(self._q("SELECT value FROM meta WHERE key = ?"), (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta_default(self, key: str, value: str) -> str:
        def run(conn: C) -> str:
            # A concurrent insert of the key makes this one wait, then do nothing; the SELECT (a new
            # snapshot) then sees the winner.
            conn.execute(
                self._q("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING"), (key, value)
            )
            stored = self._meta(conn, key)
            if stored is None:
                raise StoreError(f"meta value {key} vanished while being set")
            return stored

        return self._write(run)

    # -- accounts, keys, grants, buckets --------------------------------------------------------------
    def _add_account(self, account: Account) -> None:
        def run(conn: C) -> None:
            with self.driver.conflict(f"account {account.account_id} already exists"):
                conn.execute(
                    self._q("INSERT INTO accounts (account_id, name, created) VALUES (?, ?, ?)"),
                    (account.account_id, account.name, account.created),
                )

        self._write(run)

    def _get_account(self, account_id: str) -> Account | None:
        sql = self._q("SELECT account_id, name, created FROM accounts WHERE account_id = ?")
        row = self._read(lambda conn: conn.execute(sql, (account_id,)).fetchone())
        return None if row is None else Account(*row)

    def _list_accounts(self) -> list[Account]:
        order = self.driver.ordered("account_id")
        sql = f"SELECT account_id, name, created FROM accounts ORDER BY created, {order}"
        return [Account(*row) for row in self._read(lambda conn: conn.execute(sql).fetchall())]

    def _add_access_key(self, key: AccessKey) -> None:
        values = (key.access_key_id, key.secret, key.account_id, key.user_name, key.arn, key.principal_id)
        sql = self._q(f"INSERT INTO access_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

        def run(conn: C) -> None:
            # Any constraint: an unknown account is refused by its foreign key.
            with self.driver.conflict(f"access key {key.access_key_id} cannot be added", any_constraint=True):
                conn.execute(sql, (*values, key.is_root, key.created))

        self._write(run)

    def _get_access_key(self, access_key_id: str) -> AccessKey | None:
        sql = self._q(f"SELECT {_KEY_COLUMNS} FROM access_keys WHERE access_key_id = ?")
        row = self._read(lambda conn: conn.execute(sql, (access_key_id,)).fetchone())
        if row is None:
            return None
        return AccessKey(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7])

    def _add_grant(self, grantee: str, target: str) -> None:
        sql = self._q("INSERT INTO grants (grantee, target) VALUES (?, ?) ON CONFLICT DO NOTHING")
        self._write(lambda conn: conn.execute(sql, (grantee, target)))

    def _has_grant(self, grantee: str, target: str) -> bool:
        sql = self._q("SELECT 1 FROM grants WHERE grantee = ? AND target = ?")
        return self._read(lambda conn: conn.execute(sql, (grantee, target)).fetchone()) is not None

    def _add_bucket(self, name: str, account: str) -> None:
        def run(conn: C) -> None:
            with self.driver.conflict(f"bucket {name} already exists"):
                conn.execute(self._q("INSERT INTO buckets (name, account) VALUES (?, ?)"), (name, account))

        self._write(run)

    def _bucket_owner(self, name: str) -> str | None:
        sql = self._q("SELECT account FROM buckets WHERE name = ?")
        row = self._read(lambda conn: conn.execute(sql, (name,)).fetchone())
        return None if row is None else str(row[0])

    def _remove_bucket(self, name: str) -> None:
        sql = self._q("DELETE FROM buckets WHERE name = ?")
        self._write(lambda conn: conn.execute(sql, (name,)))

    # -- documents -------------------------------------------------------------------------------------
    def _docs(self, conn: C, kind: str, account: str | None) -> list[Doc]:
        sql = f"SELECT {_DOC_COLUMNS} FROM docs WHERE kind = ?"
        args: tuple[str, ...] = (kind,)
        if account is not None:
            sql += " AND account = ?"
            args = (kind, account)
        order = " ORDER BY " + self.driver.ordered("account", "region", "name")
        return [_doc(row) for row in conn.execute(self._q(sql + order), args).fetchall()]

    def _doc(self, conn: C, kind: str, account: str, arn: str) -> Doc | None:
        sql = self._q(f"SELECT {_DOC_COLUMNS} FROM docs WHERE kind = ? AND account = ? AND arn = ?")
        row = conn.execute(sql, (kind, account, arn)).fetchone()
        return None if row is None else _doc(row)

    def _insert_doc(self, doc: Doc, check: InsertCheck | None) -> Doc:
        sql = self._q(f"INSERT INTO docs ({_DOC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)")

        def run(conn: C) -> Doc:
            if check is not None:
                check(self._docs(conn, doc.kind, doc.account))
            body = msgspec.json.encode(doc.body)
            with self.driver.conflict(f"{doc.kind} {doc.arn} already exists"):
                conn.execute(sql, (doc.kind, doc.account, doc.region, doc.name, doc.arn, body))
            return doc

        return self._write_docs(doc.kind, doc.account, run)

    def _update_doc(
        self, kind: str, account: str, arn: str, change: Change, check: UpdateCheck | None
    ) -> Doc:
        sql = self._q(
            "UPDATE docs SET region = ?, name = ?, arn = ?, body = ? "
            "WHERE kind = ? AND account = ? AND arn = ?"
        )

        def run(conn: C) -> Doc:
            current = self._doc(conn, kind, account, arn)
            if current is None:
                raise KeyError(arn)
            new = change(current)
            if check is not None:
                check([d for d in self._docs(conn, kind, account) if d.arn != arn], new)
            body = msgspec.json.encode(new.body)
            with self.driver.conflict(f"{kind} {new.arn} already exists"):
                conn.execute(sql, (new.region, new.name, new.arn, body, kind, account, arn))
            return new

        return self._write_docs(kind, account, run)

    def _delete_doc(self, kind: str, account: str, arn: str) -> bool:
        sql = self._q("DELETE FROM docs WHERE kind = ? AND account = ? AND arn = ?")
        return self._write(lambda conn: conn.execute(sql, (kind, account, arn)).rowcount > 0)

    def _get_doc(self, kind: str, account: str, arn: str) -> Doc | None:
        return self._read(lambda conn: self._doc(conn, kind, account, arn))

    def _list_docs(self, kind: str, account: str | None) -> list[Doc]:
        return self._read(lambda conn: self._docs(conn, kind, account))

    # -- the event log's streams: one per (account, region) --------------------------------------------
    def _stream(self, conn: C, account: str, region: str) -> int | None:
        """The stream's id, or None where it was never created (no event of it was ever appended)."""
        key = (account, region)
        sid = self._stream_ids.get(key)
        if sid is None:
            found = conn.execute(self._q("SELECT id FROM streams WHERE account = ? AND region = ?"), key)
            row = found.fetchone()
            if row is None:
                return None
            sid = self._stream_ids.setdefault(key, int(row[0]))
        return sid

    def _create_stream(self, conn: C, account: str, region: str) -> int:
        """The stream's id, created if needed (another store on the database may be creating it too).
        A backend that rolls the creation back calls ``_forget_streams``."""
        key = (account, region)
        sid = self._stream_ids.get(key)
        if sid is None:
            conn.execute(
                self._q("INSERT INTO streams (account, region) VALUES (?, ?) ON CONFLICT DO NOTHING"), key
            )
            found = self._stream(conn, account, region)
            if found is None:
                raise StoreError(f"stream {account}/{region} vanished while being created")
            sid = found
        return sid

    def _forget_streams(self, keys: list[tuple[str, str]]) -> None:
        for key in keys:
            self._stream_ids.pop(key, None)

    # -- the event log's shared reads ------------------------------------------------------------------
    @abc.abstractmethod
    def _high(self, conn: C) -> int:
        """The highest committed sequence number, read on ``conn``."""

    @abc.abstractmethod
    def _log_rows(self, conn: C, after: int, bound: int, streams: list[int]) -> list[LogRow]:
        """The log's rows numbered in (``after``, ``bound``] of ``streams``, in sequence order."""

    def _high_sequence(self) -> int:
        return self._read(self._high)

    def _log_slice(
        self, conn: C, account: str, after: int, limit: int, until: int | None, region: str | None
    ) -> LogSlice:
        """``Store.read_log``: the committed high-water mark, then one range scan of the account's
        streams. Every number at or below the mark belongs to a committed row or to none (numbers are
        given out in commit order), so the range is complete however many groups commit meanwhile."""
        bound = min(after + limit, self._high(conn))
        if until is not None:
            bound = min(bound, until)
        if bound <= after:
            return LogSlice(after, [], {})
        regions = {
            int(sid): name
            for sid, name in conn.execute(
                self._q("SELECT id, region FROM streams WHERE account = ?"), (account,)
            )
            if region is None or name == region
        }
        if not regions:
            return LogSlice(bound, [], {})
        return LogSlice(bound, self._log_rows(conn, after, bound, list(regions)), regions)
