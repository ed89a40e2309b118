"""The ``Store`` seam: everything OpenTrail keeps, behind one interface every backend implements.

Two families of data live here:
- the **event log**: records, numbered by a monotonically increasing sequence, appended in groups that
  are durable before ``append`` returns (rule 1 of DESIGN.md), and read forward by consumers or
  backwards by history lookups;
- **documents**: small JSON bodies keyed by (kind, account, ARN) — trails, channels — with atomic
  read-modify-write so limits and uniqueness hold under concurrent calls.

Backends implement the abstract methods; the public contract is exercised by ``tests/contract/test_store.py``,
which every backend must pass unchanged.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, ClassVar

from opentrail.errors import ConflictError
from opentrail.events import EventRow, Kind, StoredEvent

__all__ = [
    "LOOKUP_ATTRIBUTES",
    "AccessKey",
    "Account",
    "ConflictError",
    "Doc",
    "EventQuery",
    "LogRow",
    "LogSlice",
    "Store",
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


class Store(abc.ABC):
    """Durable state of one OpenTrail deployment."""

    # Several processes (nodes) may open this store at once, so delivery shares its work under
    # leases (``leases.py``); False for a store one process owns (SQLite).
    shared: ClassVar[bool] = False

    # -- lifecycle -------------------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    # -- meta: small server-wide values (token secret, bootstrap account) -------------------------
    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` unless ``key`` already has one; return the value that is now stored."""

    # -- accounts and principals -----------------------------------------------------------------
    @abc.abstractmethod
    def add_account(self, account: Account) -> None:
        """Add an account; raises ``ConflictError`` if the id exists."""

    @abc.abstractmethod
    def get_account(self, account_id: str) -> Account | None: ...

    @abc.abstractmethod
    def list_accounts(self) -> list[Account]: ...

    @abc.abstractmethod
    def add_access_key(self, key: AccessKey) -> None: ...

    @abc.abstractmethod
    def get_access_key(self, access_key_id: str) -> AccessKey | None: ...

    @abc.abstractmethod
    def add_grant(self, grantee: str, target: str) -> None:
        """Let account ``grantee`` write events into account ``target``'s streams."""

    @abc.abstractmethod
    def has_grant(self, grantee: str, target: str) -> bool: ...

    # -- buckets (ownership of buckets in the local bucket store) --------------------------------
    @abc.abstractmethod
    def add_bucket(self, name: str, account: str) -> None: ...

    @abc.abstractmethod
    def bucket_owner(self, name: str) -> str | None: ...

    # -- documents ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def insert_doc(self, doc: Doc, check: Callable[[list[Doc]], None] | None = None) -> Doc:
        """Insert atomically. ``check`` sees the account's docs of the same kind and may raise."""

    @abc.abstractmethod
    def update_doc(
        self,
        kind: str,
        account: str,
        arn: str,
        change: Callable[[Doc], Doc],
        check: Callable[[list[Doc], Doc], None] | None = None,
    ) -> Doc:
        """Atomic read-modify-write; raises ``KeyError`` if absent. ``change`` may raise; so may
        ``check``, which sees the account's other docs of the kind and the changed doc."""

    @abc.abstractmethod
    def delete_doc(self, kind: str, account: str, arn: str) -> bool: ...

    @abc.abstractmethod
    def get_doc(self, kind: str, account: str, arn: str) -> Doc | None: ...

    @abc.abstractmethod
    def list_docs(self, kind: str, account: str | None = None) -> list[Doc]:
        """Docs of a kind, for one account or all, ordered by (account, region, name)."""

    # -- the event log -----------------------------------------------------------------------------
    @abc.abstractmethod
    def submit(self, rows: list[EventRow]) -> Future[None]:
        """Queue rows for the next group commit; the future resolves once they are durable."""

    def append(self, rows: list[EventRow]) -> None:
        """Append rows and return once they are durable. Rows whose (account, eventID) is already
        stored are skipped, so a client's retry never duplicates an event."""
        self.submit(rows).result()

    @abc.abstractmethod
    def lookup(self, query: EventQuery) -> list[StoredEvent]: ...

    @abc.abstractmethod
    def read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Events with sequence > ``seq`` in sequence order (consumers' forward read)."""

    def read_log(
        self, account: str, after: int, limit: int, until: int | None = None, region: str | None = None
    ) -> LogSlice:
        """One account's events (in one region, or all) after ``after`` and up to ``until``, scanning a
        bounded stretch of the log (at most ``limit`` sequence numbers, or ``limit`` events): the
        consumers' lean forward read (delivery reads every event it delivers through it). ``last`` is
        where the scan ended; rows are in sequence order. Backends override it with one query; this
        default is ``read_after``."""
        events = self.read_after(after, limit)
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

    def high_sequence(self) -> int:
        """The highest committed sequence, found with ``read_after`` alone (galloping, then bisecting).
        "Is there an event after n" only turns from yes to no as n grows (a purge drops the oldest rows,
        never the newest), so bisection is sound. Backends may answer it with one query."""
        if not self.read_after(0, 1):
            return 0
        low, high = 0, 1  # invariant: an event after ``low``, none after ``high`` (once found)
        while self.read_after(high, 1):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if self.read_after(middle, 1):
                low = middle
            else:
                high = middle
        return high

    @abc.abstractmethod
    def purge_ingested_before(self, cutoff: float) -> int:
        """Drop events ingested on UTC days wholly before ``cutoff`` (epoch seconds); return how many."""

    @abc.abstractmethod
    def count_events(self, account: str | None = None) -> int: ...

    @abc.abstractmethod
    def get_event(self, account: str, event_id: str) -> StoredEvent | None: ...
