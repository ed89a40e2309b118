"""The ``Store`` seam: everything OpenTrail keeps, behind one interface every backend implements.

Two families of data live here:
- the **event log**: records, numbered by a monotonically increasing sequence, appended in groups that
  are durable before ``append`` returns (rule 1 of DESIGN.md), and read forward by consumers or
  backwards by history lookups;
- **documents**: small JSON bodies keyed by (kind, account, ARN) — trails, channels — with atomic
  read-modify-write so limits and uniqueness hold under concurrent calls.

The shape is python-tuf's fetcher: each public method here checks its arguments and turns the
backend's driver errors into ``StoreError`` (``_guard``); a backend implements the ``_``-prefixed
methods, which do I/O only. Unique keys become ``ConflictError`` where the statement that may meet one
runs (``store/sql.py``), since only it knows what the key names. No driver exception reaches a caller.
The public contract is exercised by ``tests/contract/store/``, which every backend must pass
unchanged.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from opentrail.errors import ConflictError, StoreError
from opentrail.events import EventRow, Kind, StoredEvent

if TYPE_CHECKING:
    from opentrail.store.alarms import AlarmTables
    from opentrail.store.logs import LogTables
    from opentrail.store.metrics import MetricTables

__all__ = [
    "LOOKUP_ATTRIBUTES",
    "AccessKey",
    "Account",
    "Change",
    "ConflictError",
    "Doc",
    "Driver",
    "EventQuery",
    "InsertCheck",
    "LogRow",
    "LogSlice",
    "Store",
    "UpdateCheck",
    "account_number",
    "read_log_by_read_after",
]


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    created: float


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A principal's key pair. ``secret`` never leaves the server after creation."""

    access_key_id: str
    secret: str
    account_id: str
    user_name: str
    arn: str
    principal_id: str
    is_root: bool
    created: float


@dataclass(slots=True)
class Doc:
    """A stored configuration object (a trail, a channel) as a JSON-able body."""

    kind: str
    account: str
    region: str
    name: str
    arn: str
    body: dict[str, Any] = field(default_factory=dict)


LOOKUP_ATTRIBUTES = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """One page of event history, newest first. ``before`` is an exclusive (time_ms, seq) cursor."""

    account: str
    region: str
    kind: Kind
    start_ms: int
    end_ms: int
    limit: int
    attribute: str | None = None
    value: str | None = None
    before: tuple[int, int] | None = None


# (seq, stream, kind, read_only as 0/1/None, eventSource, eventTime in ms, record bytes, selector facts
# as ``EventRow.facts`` or None): a plain tuple, as the database driver returns it, so a forward read
# builds no object per event.
LogRow = tuple[int, int, int, int | None, str | None, int, bytes, bytes | None]


@dataclass(slots=True)
class LogSlice:
    last: int  # every log position up to here was scanned (a consumer's next ``after``)
    rows: list[LogRow]
    regions: dict[int, str]  # stream number -> region, for the rows' streams


# What document writes take: a check of the account's documents of the kind (on insert), a change of
# the stored document and a check of the others and the changed one (on update). Each may raise.
InsertCheck = Callable[[list[Doc]], None]
Change = Callable[[Doc], Doc]
UpdateCheck = Callable[[list[Doc], Doc], None]


@dataclass(frozen=True)
class Driver:
    """What the base knows of a backend's database driver: the database's name, for messages, and the
    exceptions the driver raises (every one becomes ``StoreError``)."""

    name: str
    errors: tuple[type[Exception], ...]


def _is_account(account: str) -> bool:
    # ``int`` alone would take " 12" or "1_2", and so merge accounts.
    return account.isascii() and account.isdigit() and len(account) <= 18


def account_number(account: str) -> int:
    """The log keys accounts by number; anything but an id of up to 18 ASCII digits is a bug upstream."""
    if not _is_account(account):
        raise ValueError(f"account {account!r} is not an account id")
    return int(account)


class _Guard:
    """``Store._guard``. A class, not ``contextlib.contextmanager``: every store call enters one, and
    entering and leaving it costs 0.3-0.6 µs here against 0.9-1.3 µs for the generator-based one."""

    __slots__ = ("action", "store")

    def __init__(self, store: Store, action: str) -> None:
        self.store = store
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, self.store.driver.errors):
            self.store._driver_failed(exc)
            raise self.store._failure(self.action, exc) from exc


class Store(abc.ABC):
    """Durable state of one OpenTrail deployment."""

    # Several processes (nodes) may open this store at once, so delivery shares its work under
    # leases (``leases.py``); False for a store one process owns (SQLite).
    shared: ClassVar[bool] = False
    driver: ClassVar[Driver]

    # -- errors: the one place driver exceptions are translated ------------------------------------
    def _failure(self, action: str, exc: BaseException) -> BaseException:
        """``exc`` as a caller may see it: a driver error becomes ``StoreError`` naming ``action``
        ("reading", "writing to"...); anything else (a caller's own exception) stays as it is."""
        if isinstance(exc, self.driver.errors):
            text = str(exc).strip() or type(exc).__name__
            error = StoreError(f"{action} the {self.driver.name} store failed: {text}")
            error.__cause__ = exc
            return error
        return exc

    def _guard(self, action: str) -> _Guard:
        """Run a backend call: its driver errors leave as ``StoreError``."""
        return _Guard(self, action)

    def _driver_failed(self, exc: Exception) -> None:  # noqa: B027 - a hook: most backends need none
        """A driver error reached ``_guard``: a backend may react (PostgreSQL re-checks its pool)."""

    # -- lifecycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    # -- the real-time path's tables (store/tables.py) --------------------------------------------
    @property
    @abc.abstractmethod
    def logs(self) -> LogTables:
        """Log groups, their streams and events, metric filters."""

    @property
    @abc.abstractmethod
    def metrics(self) -> MetricTables:
        """Metric datapoints."""

    @property
    @abc.abstractmethod
    def alarms(self) -> AlarmTables:
        """Alarms' state and history."""

    # -- meta: small server-wide values (token secret, bootstrap account) -------------------------
    def get_meta(self, key: str) -> str | None:
        with self._guard("reading"):
            return self._get_meta(key)

    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` already has one; return the value that is now stored."""
        with self._guard("writing to"):
            return self._set_meta_default(key, value)

    # -- accounts and principals -----------------------------------------------------------------
    def add_account(self, account: Account) -> None:
        """Add an account; raises ``ConflictError`` if the id exists."""
        with self._guard("writing to"):
            self._add_account(account)

    def get_account(self, account_id: str) -> Account | None:
        with self._guard("reading"):
            return self._get_account(account_id)

    def list_accounts(self) -> list[Account]:
        """Every account, oldest first (ties by account id)."""
        with self._guard("reading"):
            return self._list_accounts()

    def add_access_key(self, key: AccessKey) -> None:
        """Add a key of an existing account; raises ``ConflictError`` if it cannot be added."""
        with self._guard("writing to"):
            self._add_access_key(key)

    def get_access_key(self, access_key_id: str) -> AccessKey | None:
        with self._guard("reading"):
            return self._get_access_key(access_key_id)

    def add_grant(self, grantee: str, target: str) -> None:
        """Let account ``grantee`` write events into account ``target``'s streams."""
        with self._guard("writing to"):
            self._add_grant(grantee, target)

    def has_grant(self, grantee: str, target: str) -> bool:
        with self._guard("reading"):
            return self._has_grant(grantee, target)

    # -- buckets (ownership of buckets in the local bucket store) --------------------------------
    def add_bucket(self, name: str, account: str) -> None:
        """Record a new bucket's owner; raises ``ConflictError`` if the name is taken."""
        with self._guard("writing to"):
            self._add_bucket(name, account)

    def bucket_owner(self, name: str) -> str | None:
        with self._guard("reading"):
            return self._bucket_owner(name)

    def remove_bucket(self, name: str) -> None:
        """Forget a deleted bucket's owner, so the name is free again; a name never recorded is no
        error."""
        with self._guard("writing to"):
            self._remove_bucket(name)

    # -- documents ---------------------------------------------------------------------------------
    def insert_doc(self, doc: Doc, check: InsertCheck | None = None) -> Doc:
        """Insert atomically. ``check`` sees the account's docs of the same kind and may raise."""
        with self._guard("writing to"):
            return self._insert_doc(doc, check)

    def update_doc(
        self, kind: str, account: str, arn: str, change: Change, check: UpdateCheck | None = None
    ) -> Doc:
        """Atomic read-modify-write; raises ``KeyError`` if absent. ``change`` may raise; so may
        ``check``, which sees the account's other docs of the kind and the changed doc."""
        with self._guard("writing to"):
            return self._update_doc(kind, account, arn, change, check)

    def delete_doc(self, kind: str, account: str, arn: str) -> bool:
        with self._guard("writing to"):
            return self._delete_doc(kind, account, arn)

    def get_doc(self, kind: str, account: str, arn: str) -> Doc | None:
        with self._guard("reading"):
            return self._get_doc(kind, account, arn)

    def list_docs(self, kind: str, account: str | None = None) -> list[Doc]:
        """Docs of a kind, for one account or all, ordered by (account, region, name) in byte order."""
        with self._guard("reading"):
            return self._list_docs(kind, account)

    # -- the event log -----------------------------------------------------------------------------
    def submit(self, rows: list[EventRow]) -> Future[None]:
        """Queue rows for the next group commit; the future resolves once they are durable (at once
        when there are none). A row whose account is no account id (a bug upstream) fails the future
        with ``ValueError`` and nothing of it is stored."""
        for row in rows:
            if not _is_account(row.account):
                failed: Future[None] = Future()
                failed.set_exception(ValueError(f"account {row.account!r} is not an account id"))
                return failed
        if not rows:
            done: Future[None] = Future()
            done.set_result(None)  # nothing to make durable
            return done
        return self._submit(rows)

    def append(self, rows: list[EventRow]) -> None:
        """Append rows and return once they are durable. Rows whose (account, eventID) is already
        stored are skipped, so a client's retry never duplicates an event."""
        self.submit(rows).result()

    def lookup(self, query: EventQuery) -> list[StoredEvent]:
        if not _is_account(query.account):
            return []
        with self._guard("reading"):
            return self._lookup(query)

    def read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Events with sequence > ``seq`` in sequence order (consumers' forward read)."""
        with self._guard("reading"):
            return self._read_after(seq, limit)

    def read_log(
        self, account: str, after: int, limit: int, until: int | None = None, region: str | None = None
    ) -> LogSlice:
        """One account's events (in one region, or all) after ``after`` and up to ``until``, scanning a
        bounded stretch of the log (at most ``limit`` sequence numbers, or ``limit`` events): the
        consumers' lean forward read (delivery reads every event it delivers through it). ``last`` is
        where the scan ended; rows are in sequence order. It agrees with ``read_log_by_read_after``."""
        with self._guard("reading"):
            return self._read_log(account, after, limit, until, region)

    def high_sequence(self) -> int:
        """The highest committed sequence number (0 for a log that never held an event): no event after
        it is stored yet, and every event up to it is committed, so a consumer that has read up to it
        has seen everything committed so far. It never goes back: a purge drops the oldest events,
        never this mark."""
        with self._guard("reading"):
            return self._high_sequence()

    def purge_ingested_before(self, cutoff: float) -> int:
        """Drop events ingested on UTC days wholly before ``cutoff`` (epoch seconds); return how many."""
        with self._guard("purging"):
            return self._purge_ingested_before(cutoff)

    def count_events(self, account: str | None = None) -> int:
        if account is not None and not _is_account(account):
            return 0
        with self._guard("reading"):
            return self._count_events(account)

    def get_event(self, account: str, event_id: str) -> StoredEvent | None:
        """The first stored event of ``account`` with ``event_id`` (any stream, any kind)."""
        if not _is_account(account):
            return None
        with self._guard("reading"):
            return self._get_event(account, event_id)

    # -- what a backend implements: I/O only (the public methods above check and wrap) -------------
    @abc.abstractmethod
    def _get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def _set_meta_default(self, key: str, value: str) -> str: ...

    @abc.abstractmethod
    def _add_account(self, account: Account) -> None: ...

    @abc.abstractmethod
    def _get_account(self, account_id: str) -> Account | None: ...

    @abc.abstractmethod
    def _list_accounts(self) -> list[Account]: ...

    @abc.abstractmethod
    def _add_access_key(self, key: AccessKey) -> None: ...

    @abc.abstractmethod
    def _get_access_key(self, access_key_id: str) -> AccessKey | None: ...

    @abc.abstractmethod
    def _add_grant(self, grantee: str, target: str) -> None: ...

    @abc.abstractmethod
    def _has_grant(self, grantee: str, target: str) -> bool: ...

    @abc.abstractmethod
    def _add_bucket(self, name: str, account: str) -> None: ...

    @abc.abstractmethod
    def _bucket_owner(self, name: str) -> str | None: ...

    @abc.abstractmethod
    def _remove_bucket(self, name: str) -> None: ...

    @abc.abstractmethod
    def _insert_doc(self, doc: Doc, check: InsertCheck | None) -> Doc: ...

    @abc.abstractmethod
    def _update_doc(
        self, kind: str, account: str, arn: str, change: Change, check: UpdateCheck | None
    ) -> Doc: ...

    @abc.abstractmethod
    def _delete_doc(self, kind: str, account: str, arn: str) -> bool: ...

    @abc.abstractmethod
    def _get_doc(self, kind: str, account: str, arn: str) -> Doc | None: ...

    @abc.abstractmethod
    def _list_docs(self, kind: str, account: str | None) -> list[Doc]: ...

    @abc.abstractmethod
    def _submit(self, rows: list[EventRow]) -> Future[None]:
        """Queue checked, non-empty rows; the future's exception, if any, is already translated."""

    @abc.abstractmethod
    def _lookup(self, query: EventQuery) -> list[StoredEvent]: ...

    @abc.abstractmethod
    def _read_after(self, seq: int, limit: int) -> list[StoredEvent]: ...

    def _read_log(
        self, account: str, after: int, limit: int, until: int | None, region: str | None
    ) -> LogSlice:
        """Backends answer it with one query; this default reads ``read_after``."""
        return read_log_by_read_after(self, account, after, limit, until, region)

    @abc.abstractmethod
    def _high_sequence(self) -> int: ...

    @abc.abstractmethod
    def _purge_ingested_before(self, cutoff: float) -> int: ...

    @abc.abstractmethod
    def _count_events(self, account: str | None) -> int: ...

    @abc.abstractmethod
    def _get_event(self, account: str, event_id: str) -> StoredEvent | None: ...


def read_log_by_read_after(
    store: Store, account: str, after: int, limit: int, until: int | None = None, region: str | None = None
) -> LogSlice:
    """``Store.read_log`` computed from ``read_after`` alone: what every backend's own read must agree
    with (the contract suite compares them)."""
    events = store.read_after(after, limit)
    last = events[-1].seq if events else after
    if until is not None:
        events = [e for e in events if e.seq <= until]
        last = max(after, min(last, until))
    regions: dict[int, str] = {}
    ids: dict[str, int] = {}
    rows: list[LogRow] = []
    for event in events:
        row = event.row
        if row.account != account or (region is not None and row.region != region):
            continue
        stream = ids.setdefault(row.region, len(ids))
        regions[stream] = row.region
        read_only = None if row.read_only is None else int(row.read_only)
        rows.append(
            (
                event.seq,
                stream,
                int(row.kind),
                read_only,
                row.event_source,
                row.time_ms,
                row.record,
                row.facts,
            )
        )
    return LogSlice(last, rows, regions)
