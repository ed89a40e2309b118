"""The ``Store`` seam's own work (``store/base.py``), the part python-tuf's fetcher pattern gives the
base: each public method checks its arguments before any backend sees them (an account is an id of 1 to
18 ASCII digits, or it owns nothing), and turns the backend's driver errors, and only those, into
``StoreError`` naming what it was doing; and ``read_log_by_read_after``, the forward read every
backend's own must agree with. The backend here is a fake that records what reaches it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import StoreError
from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.ingest.records import index_record
from opentrail.store import AccessKey, Account, Doc, EventQuery, LogSlice, Store, open_store
from opentrail.store.base import (
    Change,
    Driver,
    InsertCheck,
    UpdateCheck,
    account_number,
    read_log_by_read_after,
)
from tests.support.store import record

ACCOUNT = "111111111111"


class DriverError(Exception):
    """What the fake database driver raises."""


class FakeStore(Store):
    """A backend that does no I/O: it records each call that reaches it, then raises ``failure`` if one is
    set, else answers ``answer``."""

    driver = Driver("fake", (DriverError,))

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failed: list[BaseException] = []
        self.failure: BaseException | None = None
        self.answer: Any = None

    def _io(self, name: str) -> Any:
        self.calls.append(name)
        if self.failure is not None:
            raise self.failure
        return self.answer

    def _driver_failed(self, exc: Exception) -> None:
        self.failed.append(exc)

    def close(self) -> None:
        self.calls.append("close")

    # The real-time path's tables are SQL only (store/tables.py): this fake keeps none.
    @property
    def logs(self) -> Any:
        raise AssertionError("the fake store keeps no log groups")

    @property
    def metrics(self) -> Any:
        raise AssertionError("the fake store keeps no metrics")

    @property
    def alarms(self) -> Any:
        raise AssertionError("the fake store keeps no alarms")

    def _get_meta(self, key: str) -> str | None:
        return self._io("get_meta")  # type: ignore[no-any-return]

    def _set_meta_default(self, key: str, value: str) -> str:
        return self._io("set_meta_default")  # type: ignore[no-any-return]

    def _add_account(self, account: Account) -> None:
        self._io("add_account")

    def _get_account(self, account_id: str) -> Account | None:
        return self._io("get_account")  # type: ignore[no-any-return]

    def _list_accounts(self) -> list[Account]:
        return self._io("list_accounts")  # type: ignore[no-any-return]

    def _add_access_key(self, key: AccessKey) -> None:
        self._io("add_access_key")

    def _get_access_key(self, access_key_id: str) -> AccessKey | None:
        return self._io("get_access_key")  # type: ignore[no-any-return]

    def _add_grant(self, grantee: str, target: str) -> None:
        self._io("add_grant")

    def _has_grant(self, grantee: str, target: str) -> bool:
        return self._io("has_grant")  # type: ignore[no-any-return]

    def _add_bucket(self, name: str, account: str) -> None:
        self._io("add_bucket")

    def _bucket_owner(self, name: str) -> str | None:
        return self._io("bucket_owner")  # type: ignore[no-any-return]

    def _remove_bucket(self, name: str) -> None:
        self._io("remove_bucket")

    def _insert_doc(self, doc: Doc, check: InsertCheck | None) -> Doc:
        return self._io("insert_doc")  # type: ignore[no-any-return]

    def _update_doc(
        self, kind: str, account: str, arn: str, change: Change, check: UpdateCheck | None
    ) -> Doc:
        self._io("update_doc")
        return change(Doc(kind, account, "us-east-1", "name", arn))

    def _delete_doc(self, kind: str, account: str, arn: str) -> bool:
        return self._io("delete_doc")  # type: ignore[no-any-return]

    def _get_doc(self, kind: str, account: str, arn: str) -> Doc | None:
        return self._io("get_doc")  # type: ignore[no-any-return]

    def _list_docs(self, kind: str, account: str | None) -> list[Doc]:
        return self._io("list_docs")  # type: ignore[no-any-return]

    def _submit(self, rows: list[EventRow]) -> Future[None]:
        self._io("submit")
        done: Future[None] = Future()
        done.set_result(None)
        return done

    def _lookup(self, query: EventQuery) -> list[StoredEvent]:
        return self._io("lookup")  # type: ignore[no-any-return]

    def _read_after(self, seq: int, limit: int) -> list[StoredEvent]:
        return self._io("read_after")  # type: ignore[no-any-return]

    def _high_sequence(self) -> int:
        return self._io("high_sequence")  # type: ignore[no-any-return]

    def _purge_ingested_before(self, cutoff: float) -> int:
        return self._io("purge_ingested_before")  # type: ignore[no-any-return]

    def _count_events(self, account: str | None) -> int:
        return self._io("count_events")  # type: ignore[no-any-return]

    def _get_event(self, account: str, event_id: str) -> StoredEvent | None:
        return self._io("get_event")  # type: ignore[no-any-return]


@pytest.fixture
def fake() -> FakeStore:
    return FakeStore()


# -- accounts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["123456789012", "0", "9" * 18, "000000000001"])
def test_an_account_is_up_to_18_ascii_digits(account: str) -> None:
    assert account_number(account) == int(account)


@pytest.mark.parametrize(
    "account", ["", " 12", "12 ", "1_2", "+12", "-1", "1" * 19, "\u0661\u0662", "\uff11", "abc"]
)
def test_anything_else_is_no_account(account: str) -> None:
    """``int`` would read most of these (" 12", "1_2", "+12", Arabic-Indic and full-width digits) as a
    number and so merge them with a real account."""
    with pytest.raises(ValueError, match=re.escape(f"account {account!r} is not an account id")):
        account_number(account)


def query(account: str) -> EventQuery:
    return EventQuery(account, "us-east-1", Kind.MANAGEMENT, 0, 2**62, 50)


@pytest.mark.parametrize("account", ["", "1_2", "\uff11", "1" * 19])
def test_what_is_no_account_owns_nothing_and_no_backend_is_asked(fake: FakeStore, account: str) -> None:
    fake.answer = "not asked"
    assert fake.lookup(query(account)) == []
    assert fake.count_events(account) == 0
    assert fake.get_event(account, "e1") is None
    assert fake.calls == []
    fake.answer = 7
    assert fake.count_events() == 7  # every account's: the backend's to count
    assert fake.count_events(ACCOUNT) == 7
    assert fake.calls == ["count_events", "count_events"]


def test_rows_of_no_account_fail_their_group_and_none_is_stored(fake: FakeStore) -> None:
    good = index_record(record("e1"), ACCOUNT)
    bad = index_record(record("e2"), "1_2")
    future = fake.submit([good, bad])
    with pytest.raises(ValueError, match="account '1_2' is not an account id"):
        future.result(0)
    with pytest.raises(ValueError, match="is not an account id"):
        fake.append([bad])
    assert fake.calls == []


def test_an_empty_group_is_durable_at_once(fake: FakeStore) -> None:
    future = fake.submit([])
    assert future.done()
    assert future.result(0) is None
    fake.append([])
    assert fake.calls == []


# -- driver errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "action"),
    [
        (lambda store: store.get_meta("k"), "reading"),
        (lambda store: store.list_accounts(), "reading"),
        (lambda store: store.lookup(query(ACCOUNT)), "reading"),
        (lambda store: store.read_log(ACCOUNT, 0, 10), "reading"),
        (lambda store: store.high_sequence(), "reading"),
        (lambda store: store.set_meta_default("k", "v"), "writing to"),
        (lambda store: store.add_bucket("b", ACCOUNT), "writing to"),
        (lambda store: store.remove_bucket("b"), "writing to"),
        (lambda store: store.delete_doc("trail", ACCOUNT, "arn"), "writing to"),
        (lambda store: store.purge_ingested_before(0.0), "purging"),
    ],
)
def test_a_driver_error_is_a_store_error_naming_what_failed(fake: FakeStore, call: Any, action: str) -> None:
    cause = DriverError("disk I/O error")
    fake.failure = cause
    with pytest.raises(StoreError) as caught:
        call(fake)
    assert str(caught.value) == f"{action} the fake store failed: disk I/O error"
    assert caught.value.__cause__ is cause
    assert fake.failed == [cause]  # the backend hears of it (PostgreSQL re-checks its pool)


def test_a_driver_error_without_words_is_named_by_its_type(fake: FakeStore) -> None:
    fake.failure = DriverError("  ")
    with pytest.raises(StoreError, match=r"^reading the fake store failed: DriverError$"):
        fake.get_meta("k")


def test_anything_but_a_driver_error_passes_as_it_is(fake: FakeStore) -> None:
    """A caller's own exception (a check or change that refuses) is the caller's to see, unchanged."""

    def refuse(doc: Doc) -> Doc:
        raise LookupError("no such trail")

    with pytest.raises(LookupError, match="no such trail"):
        fake.update_doc("trail", ACCOUNT, "arn", refuse)
    fake.failure = KeyError("arn")
    with pytest.raises(KeyError):
        fake.get_doc("trail", ACCOUNT, "arn")
    assert fake.failed == []


# -- the generic forward read -------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'log.db'}")
    yield store
    store.close()


def event(event_id: str, account: str = ACCOUNT, region: str = "us-east-1") -> EventRow:
    return index_record(record(event_id, region), account)


def seqs(found: LogSlice) -> list[tuple[int, str]]:
    """(sequence, region) of each row."""
    return [(row[0], found.regions[row[1]]) for row in found.rows]


def test_the_generic_read_keeps_one_accounts_rows_and_numbers_its_regions(store: Store) -> None:
    store.append(
        [
            event("a1"),
            event("b1", account="222222222222"),
            event("a2", region="eu-west-1"),
            event("a3"),
        ]
    )
    found = read_log_by_read_after(store, ACCOUNT, 0, 10)
    assert (found.last, seqs(found)) == (4, [(1, "us-east-1"), (3, "eu-west-1"), (4, "us-east-1")])
    assert found.regions == {0: "us-east-1", 1: "eu-west-1"}  # streams numbered as they first appear
    first = found.rows[0]
    assert (first[2], first[3], first[4]) == (int(Kind.MANAGEMENT), None, "s3.amazonaws.com")
    assert json.loads(first[6])["eventID"] == "a1"
    eu = read_log_by_read_after(store, ACCOUNT, 0, 10, region="eu-west-1")
    assert (eu.last, seqs(eu), eu.regions) == (4, [(3, "eu-west-1")], {0: "eu-west-1"})


def test_the_generic_read_scans_at_most_limit_positions_up_to_until(store: Store) -> None:
    store.append([event("a1"), event("b1", account="222222222222"), event("a2"), event("a3")])
    first_two = read_log_by_read_after(store, ACCOUNT, 0, 2)
    assert (first_two.last, seqs(first_two)) == (2, [(1, "us-east-1")])
    upto = read_log_by_read_after(store, ACCOUNT, 0, 10, until=3)
    assert (upto.last, seqs(upto)) == (3, [(1, "us-east-1"), (3, "us-east-1")])
    # ``last`` never goes back past where the read began, nor past the end of the log.
    assert read_log_by_read_after(store, ACCOUNT, 3, 10, until=1).last == 3
    assert read_log_by_read_after(store, ACCOUNT, 4, 10).last == 4
    assert read_log_by_read_after(store, "222222222222", 2, 10).rows == []
