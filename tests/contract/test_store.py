"""The ``Store`` contract: what every backend promises, tested through the abstract interface only.

Each test gets a fresh, empty store from the ``backend`` fixture, parametrised by backend name. A backend
joins the suite by adding one entry to ``BACKENDS``: a function that returns the URL of a fresh, empty
database (it may ask pytest for fixtures of its own, e.g. a throwaway PostgreSQL cluster), and one to
``RAW_SQL``: its driver's way to run a statement, with which the driver-error tests break a table every
schema has. Nothing else here may depend on how a backend stores things.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.clock import FixedClock
from opentrail.errors import ConflictError, StoreError
from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.ingest.records import index_record
from opentrail.selectors.facts import SelectorFacts
from opentrail.store import AccessKey, Account, Doc, EventQuery, Store, open_store
from opentrail.store.base import read_log_by_read_after
from tests.support.store import everything

# -- backends ---------------------------------------------------------------------------------------


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'contract.db'}"


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own in the session's throwaway cluster, dropped after the test."""
    cluster = request.getfixturevalue("postgres_cluster")
    url: str = cluster.new_database()
    request.addfinalizer(lambda: cluster.drop_database(url))
    return url


# backend name -> function returning the URL of a fresh, empty database for one test.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


def _sqlite_sql(url: str, statement: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    try:
        conn.execute(statement)
    finally:
        conn.close()


def _postgres_sql(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


# backend name -> function running one statement on a database URL with the backend's driver.
RAW_SQL: dict[str, Callable[[str, str], None]] = {
    "sqlite": _sqlite_sql,
    "postgres": _postgres_sql,
}


DAY = 86400
START = 100 * DAY + 3600  # the stores' clock: 01:00 UTC on day 100 of the epoch


@dataclass
class Backend:
    """Opens stores on one database URL and closes whatever a test left open. Every store it opens
    shares one hand-driven clock (the store uses it for ingestion days)."""

    name: str
    url: str
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        store = open_store(self.url, self.clock)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        """Close ``store`` and open a new instance on the same database."""
        self.opened.remove(store)
        store.close()
        return self.open()

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()

    def execute(self, statement: str) -> None:
        """Run ``statement`` on the database beside the store, with the backend's own driver."""
        RAW_SQL[self.name](self.url, statement)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(request.param, BACKENDS[request.param](request, tmp_path))
    try:
        yield backend
    finally:
        backend.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()


# -- records ----------------------------------------------------------------------------------------

ACCOUNT = "111111111111"
OTHER = "222222222222"
T0 = "2024-05-01T12:00:00Z"
T0_MS = 1714564800000
WIDE = (0, 2**62)
WAIT = 30  # seconds any future may take before the test calls it lost


def record(
    event_id: str,
    *,
    time_text: str = T0,
    region: str = "us-east-1",
    name: str = "GetObject",
    source: str = "s3.amazonaws.com",
    category: str | None = "Management",
    read_only: bool | None = None,
    user: str | None = None,
    access_key: str | None = None,
    resources: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> bytes:
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "eventTime": time_text,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "eventID": event_id,
    }
    if category is not None:
        rec["eventCategory"] = category
    if read_only is not None:
        rec["readOnly"] = read_only
    if user is not None or access_key is not None:
        rec["userIdentity"] = {"type": "IAMUser", "userName": user, "accessKeyId": access_key}
    if resources is not None:
        rec["resources"] = [{"type": t, "ARN": arn} for t, arn in resources]
    rec.update(extra)
    return json.dumps(rec).encode()


def row(account: str, event_id: str, **kwargs: Any) -> EventRow:
    return index_record(record(event_id, **kwargs), account)


def at(seconds: int) -> str:
    """Record time ``seconds`` after T0."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0_MS // 1000 + seconds))


def query(account: str = ACCOUNT, **kwargs: Any) -> EventQuery:
    values: dict[str, Any] = {
        "account": account,
        "region": "us-east-1",
        "kind": Kind.MANAGEMENT,
        "start_ms": WIDE[0],
        "end_ms": WIDE[1],
        "limit": 50,
    }
    values.update(kwargs)
    return EventQuery(**values)


def ids(events: list[StoredEvent]) -> list[str]:
    return [e.row.event_id for e in events]


# -- meta -------------------------------------------------------------------------------------------


def test_meta_is_absent_until_set(store: Store) -> None:
    assert store.get_meta("token_secret") is None


def test_set_meta_default_keeps_the_first_value_and_returns_the_winner(store: Store) -> None:
    assert store.set_meta_default("k", "first") == "first"
    assert store.set_meta_default("k", "second") == "first"
    assert store.get_meta("k") == "first"
    assert store.set_meta_default("other", "x") == "x"


def test_concurrent_meta_defaults_agree_on_one_winner(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        winners = set(pool.map(lambda i: store.set_meta_default("race", f"v{i}"), range(32)))
    assert len(winners) == 1
    assert store.get_meta("race") in winners


def test_meta_survives_reopening(backend: Backend, store: Store) -> None:
    store.set_meta_default("k", "v")
    assert backend.reopen(store).get_meta("k") == "v"


# -- accounts, keys, grants, buckets ----------------------------------------------------------------


def key(access_key_id: str, account: str = ACCOUNT) -> AccessKey:
    return AccessKey(
        access_key_id=access_key_id,
        secret="s3cr3t/" + access_key_id,
        account_id=account,
        user_name="root",
        arn=f"arn:aws:iam::{account}:root",
        principal_id=account,
        is_root=True,
        created=1714564800.5,
    )


def test_accounts_round_trip(store: Store) -> None:
    first = Account(ACCOUNT, "first", 1714564800.25)
    second = Account("012345678901", "zero-led ✓", 1714564801.0)
    store.add_account(first)
    store.add_account(second)
    assert store.get_account(ACCOUNT) == first
    assert store.get_account("012345678901") == second
    assert store.get_account("999999999999") is None
    assert sorted(store.list_accounts(), key=lambda a: a.account_id) == [second, first]


def test_accounts_are_listed_oldest_first_and_ties_by_account_id(store: Store) -> None:
    accounts = [
        Account("333333333333", "c", 2.0),
        Account("222222222222", "b", 1.0),
        Account("000000000009", "z", 1.0),
        Account("111111111111", "a", 1.0),
        Account("444444444444", "d", 0.5),
    ]
    for account in accounts:  # ties added out of id order: the order must not be the insertion order
        store.add_account(account)
    assert store.list_accounts() == sorted(accounts, key=lambda a: (a.created, a.account_id))


def test_duplicate_account_is_a_conflict(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "first", 1.0))
    with pytest.raises(ConflictError, match=ACCOUNT):
        store.add_account(Account(ACCOUNT, "again", 2.0))
    assert store.get_account(ACCOUNT) == Account(ACCOUNT, "first", 1.0)


def test_access_keys_round_trip(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "a", 1.0))
    root = key("AKIAROOT0000000000001")
    user = AccessKey(
        "AKIAUSER0000000000001",
        "x",
        ACCOUNT,
        "alice",
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        "AIDA1",
        False,
        2.0,
    )
    store.add_access_key(root)
    store.add_access_key(user)
    assert store.get_access_key(root.access_key_id) == root
    assert store.get_access_key(user.access_key_id) == user
    assert store.get_access_key("AKIAUNKNOWN") is None


def test_duplicate_access_key_is_a_conflict(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "a", 1.0))
    store.add_access_key(key("AKIADUP"))
    with pytest.raises(ConflictError):
        store.add_access_key(AccessKey("AKIADUP", "other", ACCOUNT, "bob", "arn:b", "AIDB", False, 3.0))
    assert store.get_access_key("AKIADUP") == key("AKIADUP")


def test_grants_are_directional_and_idempotent(store: Store) -> None:
    assert not store.has_grant(ACCOUNT, OTHER)
    store.add_grant(ACCOUNT, OTHER)
    store.add_grant(ACCOUNT, OTHER)  # granting twice is not an error: the grant simply holds
    assert store.has_grant(ACCOUNT, OTHER)
    assert not store.has_grant(OTHER, ACCOUNT)


def test_buckets_have_one_owner(store: Store) -> None:
    assert store.bucket_owner("logs") is None
    store.add_bucket("logs", ACCOUNT)
    assert store.bucket_owner("logs") == ACCOUNT
    with pytest.raises(ConflictError, match="logs"):
        store.add_bucket("logs", OTHER)
    assert store.bucket_owner("logs") == ACCOUNT


# -- documents --------------------------------------------------------------------------------------


def trail(name: str, account: str = ACCOUNT, region: str = "us-east-1", **body: Any) -> Doc:
    arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"
    return Doc("trail", account, region, name, arn, body or {"Name": name})


class Refused(Exception):
    """What a test's ``check`` or ``change`` raises."""


def refuse(_: Any) -> Any:
    raise Refused("no")


def test_doc_round_trips_its_body(store: Store) -> None:
    body: dict[str, Any] = {
        "Name": "t",
        "Nested": {"list": [1, 2.5, None, True, "ü"], "deep": {"x": {}}},
        "Big": 2**53,
    }
    doc = trail("t", **body)
    assert store.insert_doc(doc) == doc
    assert store.get_doc("trail", ACCOUNT, doc.arn) == doc
    assert store.get_doc("channel", ACCOUNT, doc.arn) is None


def test_insert_check_sees_the_accounts_docs_of_the_kind(store: Store) -> None:
    store.insert_doc(trail("a"))
    store.insert_doc(trail("b", region="eu-west-1"))
    store.insert_doc(trail("c", account=OTHER))
    store.insert_doc(Doc("channel", ACCOUNT, "us-east-1", "ch", "arn:ch"))
    seen: list[list[str]] = []
    store.insert_doc(trail("d"), check=lambda docs: seen.append(sorted(d.name for d in docs)))
    assert seen == [["a", "b"]]


def test_a_failing_check_aborts_the_insert(store: Store) -> None:
    store.insert_doc(trail("a"))
    with pytest.raises(Refused):
        store.insert_doc(trail("b"), check=refuse)
    assert store.get_doc("trail", ACCOUNT, trail("b").arn) is None
    assert [d.name for d in store.list_docs("trail")] == ["a"]


def test_doc_names_are_unique_per_account_kind_and_region(store: Store) -> None:
    store.insert_doc(trail("t"))
    clash = Doc("trail", ACCOUNT, "us-east-1", "t", "arn:aws:cloudtrail:us-east-1:111111111111:trail/other")
    with pytest.raises(ConflictError):
        store.insert_doc(clash)
    # The same name elsewhere is a different document.
    store.insert_doc(trail("t", region="eu-west-1"))
    store.insert_doc(trail("t", account=OTHER))
    store.insert_doc(Doc("channel", ACCOUNT, "us-east-1", "t", "arn:channel/t"))
    assert len(store.list_docs("trail")) == 3


def test_doc_arns_are_unique(store: Store) -> None:
    store.insert_doc(trail("t"))
    with pytest.raises(ConflictError):
        store.insert_doc(Doc("trail", ACCOUNT, "us-east-1", "renamed", trail("t").arn))
    assert store.get_doc("trail", ACCOUNT, trail("t").arn) == trail("t")


def test_update_doc_changes_atomically(store: Store) -> None:
    store.insert_doc(trail("t", Name="t", Logging=False))

    def start(doc: Doc) -> Doc:
        doc.body["Logging"] = True
        return doc

    updated = store.update_doc("trail", ACCOUNT, trail("t").arn, start)
    assert updated.body == {"Name": "t", "Logging": True}
    assert store.get_doc("trail", ACCOUNT, trail("t").arn) == updated


def test_update_doc_of_a_missing_doc_is_a_key_error(store: Store) -> None:
    store.insert_doc(trail("t"))
    with pytest.raises(KeyError):
        store.update_doc("trail", ACCOUNT, trail("missing").arn, lambda d: d)
    with pytest.raises(KeyError):  # another account's doc is missing for this one
        store.update_doc("trail", OTHER, trail("t").arn, lambda d: d)


def test_a_failing_change_leaves_the_doc_unchanged(store: Store) -> None:
    store.insert_doc(trail("t", Name="t", Count=1))

    def half_then_fail(doc: Doc) -> Doc:
        doc.body["Count"] = 2
        raise Refused("halfway")

    with pytest.raises(Refused):
        store.update_doc("trail", ACCOUNT, trail("t").arn, half_then_fail)
    assert store.get_doc("trail", ACCOUNT, trail("t").arn) == trail("t", Name="t", Count=1)


def test_update_cannot_rename_onto_another_doc(store: Store) -> None:
    store.insert_doc(trail("a"))
    store.insert_doc(trail("b"))

    def rename(doc: Doc) -> Doc:
        return Doc(doc.kind, doc.account, doc.region, "a", doc.arn, doc.body)

    with pytest.raises(ConflictError):
        store.update_doc("trail", ACCOUNT, trail("b").arn, rename)
    assert store.get_doc("trail", ACCOUNT, trail("b").arn) == trail("b")


def test_concurrent_updates_lose_nothing(store: Store) -> None:
    store.insert_doc(trail("t", Count=0))

    def bump(doc: Doc) -> Doc:
        doc.body["Count"] += 1
        return doc

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: store.update_doc("trail", ACCOUNT, trail("t").arn, bump), range(80)))
    doc = store.get_doc("trail", ACCOUNT, trail("t").arn)
    assert doc is not None
    assert doc.body["Count"] == 80


def test_a_limit_checked_on_insert_holds_under_concurrency(store: Store) -> None:
    def at_most_five(docs: list[Doc]) -> None:
        if len(docs) >= 5:
            raise Refused(f"{len(docs)} trails exist")

    def attempt(i: int) -> bool:
        try:
            store.insert_doc(trail(f"t{i}"), check=at_most_five)
        except Refused:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(24)))
    assert results.count(True) == 5
    assert len(store.list_docs("trail", ACCOUNT)) == 5


def test_delete_doc(store: Store) -> None:
    store.insert_doc(trail("t"))
    assert not store.delete_doc("trail", OTHER, trail("t").arn)
    assert store.delete_doc("trail", ACCOUNT, trail("t").arn)
    assert store.get_doc("trail", ACCOUNT, trail("t").arn) is None
    assert not store.delete_doc("trail", ACCOUNT, trail("t").arn)
    store.insert_doc(trail("t"))  # the name is free again


def test_list_docs_orders_by_account_region_name_and_isolates_accounts(store: Store) -> None:
    docs = [
        trail("b", region="us-east-1"),
        trail("a", region="us-west-2"),
        trail("c", region="eu-west-1"),
        trail("a", region="us-east-1"),
        trail("z", account=OTHER, region="ap-south-1"),
        trail("a", account=OTHER, region="us-east-1"),
    ]
    for doc in random.Random(7).sample(docs, len(docs)):
        store.insert_doc(doc)
    store.insert_doc(Doc("channel", ACCOUNT, "us-east-1", "ch", "arn:ch"))
    expected = sorted(docs, key=lambda d: (d.account, d.region, d.name))
    assert store.list_docs("trail") == expected
    assert store.list_docs("trail", ACCOUNT) == [d for d in expected if d.account == ACCOUNT]
    assert store.list_docs("trail", OTHER) == [d for d in expected if d.account == OTHER]
    assert store.list_docs("trail", "333333333333") == []
    assert store.get_doc("trail", OTHER, trail("b").arn) is None


def test_list_docs_orders_names_byte_by_byte_whatever_the_locale(store: Store) -> None:
    names = ["b", "B", "_x", "a", "é", "Z", "a-b", "aB", "ab"]
    for name in names:
        store.insert_doc(trail(name))
    assert [d.name for d in store.list_docs("trail")] == sorted(names, key=lambda n: n.encode())


def test_docs_survive_reopening(backend: Backend, store: Store) -> None:
    store.insert_doc(trail("t", Name="t", Tags=[{"Key": "k", "Value": "v"}]))
    again = backend.reopen(store)
    assert again.get_doc("trail", ACCOUNT, trail("t").arn) == trail(
        "t", Name="t", Tags=[{"Key": "k", "Value": "v"}]
    )


def test_a_failing_doc_operation_does_not_break_others_committed_with_it(store: Store) -> None:
    """Operations queued while the writer is busy share one commit (where a backend groups them);
    the ones that fail must fail alone."""
    release = threading.Event()
    entered = threading.Event()
    store.insert_doc(trail("existing"))

    def hold(_: list[Doc]) -> None:
        entered.set()
        release.wait(WAIT)

    with ThreadPoolExecutor(8) as pool:
        blocker = pool.submit(store.insert_doc, trail("first"), hold)
        assert entered.wait(WAIT)
        good = pool.submit(store.insert_doc, trail("good"))
        bad_check = pool.submit(store.insert_doc, trail("bad-check"), refuse)
        duplicate = pool.submit(store.insert_doc, trail("existing"))
        bad_change = pool.submit(store.update_doc, "trail", ACCOUNT, trail("existing").arn, refuse)
        missing = pool.submit(store.update_doc, "trail", ACCOUNT, trail("nope").arn, lambda d: d)
        events: Future[None] = store.submit([row(ACCOUNT, "e1"), row(ACCOUNT, "e2")])
        good_meta = pool.submit(store.set_meta_default, "k", "v")
        time.sleep(0.3)  # let every call reach the queue behind the blocked one
        release.set()
        assert blocker.result(WAIT) == trail("first")
        assert good.result(WAIT) == trail("good")
        assert events.result(WAIT) is None
        assert good_meta.result(WAIT) == "v"
        with pytest.raises(Refused):
            bad_check.result(WAIT)
        with pytest.raises(ConflictError):
            duplicate.result(WAIT)
        with pytest.raises(Refused):
            bad_change.result(WAIT)
        with pytest.raises(KeyError):
            missing.result(WAIT)
    assert [d.name for d in store.list_docs("trail")] == ["existing", "first", "good"]
    assert store.get_doc("trail", ACCOUNT, trail("existing").arn) == trail("existing")
    assert sorted(ids(everything(store))) == ["e1", "e2"]


# -- the event log: append, durability, dedupe -------------------------------------------------------


def test_append_returns_once_durable_and_a_new_instance_sees_it(backend: Backend, store: Store) -> None:
    rows = [row(ACCOUNT, f"e{i}", time_text=at(i), name=f"Op{i}") for i in range(5)]
    store.append(rows[:2])
    assert store.submit(rows[2:]).result(WAIT) is None
    again = backend.reopen(store)
    assert again.count_events() == 5
    found = again.get_event(ACCOUNT, "e3")
    assert found is not None
    assert found.row.record == rows[3].record
    assert ids(again.lookup(query())) == ["e4", "e3", "e2", "e1", "e0"]
    assert ids(again.read_after(0, 10)) == ["e0", "e1", "e2", "e3", "e4"]


def test_sequence_continues_after_reopening(backend: Backend, store: Store) -> None:
    store.append([row(ACCOUNT, "a"), row(ACCOUNT, "b")])
    last = store.read_after(0, 10)[-1].seq
    again = backend.reopen(store)
    again.append([row(ACCOUNT, "c")])
    after = again.read_after(last, 10)
    assert ids(after) == ["c"]
    assert after[0].seq > last


def test_stored_event_carries_the_rows_fields(store: Store) -> None:
    sent = row(
        "012345678901",
        "ev-1",
        time_text="2024-05-01T12:00:00.250Z",
        region="eu-central-1",
        name="PutObject",
        source="s3.amazonaws.com",
        read_only=False,
        user="alice",
        access_key="AKIAALICE",
    )
    store.append([sent])
    for found in (store.get_event("012345678901", "ev-1"), store.read_after(0, 1)[0]):
        assert found is not None
        got = found.row
        assert (got.account, got.region, got.kind, got.time_ms) == (
            "012345678901",
            "eu-central-1",
            Kind.MANAGEMENT,
            T0_MS + 250,
        )
        assert (got.event_id, got.event_name, got.event_source) == ("ev-1", "PutObject", "s3.amazonaws.com")
        assert (got.read_only, got.username, got.access_key_id) == (False, "alice", "AKIAALICE")
        assert got.record == sent.record


def test_get_event_is_scoped_to_the_account(store: Store) -> None:
    store.append([row(ACCOUNT, "mine")])
    assert store.get_event(ACCOUNT, "mine") is not None
    assert store.get_event(OTHER, "mine") is None
    assert store.get_event(ACCOUNT, "absent") is None


def test_a_retried_event_is_stored_once(store: Store) -> None:
    first = row(ACCOUNT, "dup", name="First")
    store.append([first, row(ACCOUNT, "other")])
    store.append([row(ACCOUNT, "dup", name="Retry")])
    assert store.count_events() == 2
    found = store.get_event(ACCOUNT, "dup")
    assert found is not None
    assert found.row.record == first.record  # the first copy stands
    assert ids(store.lookup(query(attribute="EventName", value="Retry"))) == []


def test_a_group_with_one_retried_event_stores_the_others_in_order(store: Store) -> None:
    # Quotes, backslashes, braces, commas and NUL: whatever a store quotes or escapes on the way in.
    odd = "arn:aws:s3:::kept/'\"\\{a,b}\u0000"
    resources: dict[str, Any] = {"resources": [("AWS::S3::Bucket", odd)]}
    store.append([row(ACCOUNT, "a"), row(ACCOUNT, "b")])
    store.append([row(ACCOUNT, "c"), row(ACCOUNT, "a", name="Retry"), row(ACCOUNT, "d", **resources)])
    store.append([row(ACCOUNT, "e")])
    stored = everything(store)
    assert ids(stored) == ["a", "b", "c", "d", "e"]
    assert [e.seq for e in stored] == sorted({e.seq for e in stored})
    assert store.count_events() == 5
    assert ids(store.lookup(query(attribute="ResourceName", value=odd))) == ["d"]
    assert ids(store.lookup(query(attribute="EventName", value="Retry"))) == []


def test_duplicates_within_one_batch_are_stored_once(store: Store) -> None:
    store.append([row(ACCOUNT, "x", name="A"), row(ACCOUNT, "y"), row(ACCOUNT, "x", name="B")])
    assert store.count_events() == 2
    assert sorted(ids(everything(store))) == ["x", "y"]
    found = store.get_event(ACCOUNT, "x")
    assert found is not None
    assert json.loads(found.row.record)["eventName"] == "A"


def test_a_retried_event_with_resources_is_indexed_once(store: Store) -> None:
    kwargs: dict[str, Any] = {
        "resources": [("AWS::S3::Bucket", "arn:aws:s3:::b"), ("AWS::S3::Bucket", "arn:aws:s3:::c")]
    }
    store.append([row(ACCOUNT, "r", **kwargs)])
    store.append([row(ACCOUNT, "r", **kwargs), row(ACCOUNT, "r", **kwargs)])
    assert ids(store.lookup(query(attribute="ResourceType", value="AWS::S3::Bucket"))) == ["r"]
    assert ids(store.lookup(query(attribute="ResourceName", value="arn:aws:s3:::c"))) == ["r"]


def test_accounts_may_reuse_an_event_id(store: Store) -> None:
    store.append([row(ACCOUNT, "shared", name="Mine"), row(OTHER, "shared", name="Theirs")])
    assert store.count_events() == 2
    assert store.count_events(ACCOUNT) == 1
    assert store.count_events(OTHER) == 1
    mine, theirs = store.get_event(ACCOUNT, "shared"), store.get_event(OTHER, "shared")
    assert mine is not None
    assert theirs is not None
    assert json.loads(mine.row.record)["eventName"] == "Mine"
    assert json.loads(theirs.row.record)["eventName"] == "Theirs"
    assert ids(store.lookup(query(OTHER, attribute="EventId", value="shared"))) == ["shared"]


def test_count_events(store: Store) -> None:
    assert store.count_events() == 0
    assert store.count_events(ACCOUNT) == 0
    store.append([row(ACCOUNT, f"a{i}") for i in range(3)] + [row(OTHER, "b", region="eu-west-1")])
    assert store.count_events() == 4
    assert store.count_events(ACCOUNT) == 3
    assert store.count_events(OTHER) == 1
    assert store.count_events("333333333333") == 0


def test_an_empty_append_is_harmless(store: Store) -> None:
    store.append([])
    assert store.submit([]).result(WAIT) is None
    assert store.count_events() == 0


def test_a_row_the_backend_cannot_store_fails_its_caller_and_the_store_keeps_working(store: Store) -> None:
    """Accounts are 12-digit ids; a row with anything else is a bug upstream. It must fail its own
    future, not wedge the store for every later caller."""
    bad = row("not-an-account", "bad")
    future = store.submit([bad])
    with pytest.raises(Exception):  # noqa: B017, PT011 - which error is the backend's choice; hanging is not
        future.result(WAIT)
    assert store.submit([row(ACCOUNT, "good")]).result(WAIT) is None
    assert ids(everything(store)) == ["good"]


# -- the event log: forward reads ---------------------------------------------------------------------


def test_read_after_returns_commit_order_with_increasing_sequence(store: Store) -> None:
    batches = [
        [row(ACCOUNT, f"b{b}-{i}", time_text=at(100 - b * 10 - i)) for i in range(4)] for b in range(3)
    ]
    for batch in batches:
        store.append(batch)
    events = store.read_after(0, 100)
    assert ids(events) == [r.event_id for batch in batches for r in batch]  # not time order: commit order
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert seqs[0] > 0


def _log_ids(rows: list[Any]) -> list[str]:
    return [json.loads(r[6])["eventID"] for r in rows]


def test_read_log_returns_one_accounts_rows_with_their_fields(store: Store) -> None:
    store.append(
        [
            row(ACCOUNT, "a0", read_only=True, source="ec2.amazonaws.com", time_text=at(5)),
            row(OTHER, "o1"),
            row(ACCOUNT, "a2", region="eu-west-1", category="Data", read_only=False),
            row(ACCOUNT, "a3"),
        ]
    )
    events = store.read_after(0, 10)
    part = store.read_log(ACCOUNT, 0, 100)
    assert _log_ids(part.rows) == ["a0", "a2", "a3"]
    assert part.last == events[-1].seq
    seq, stream, kind, read_only, source, time_ms, raw, facts = part.rows[0]
    assert (seq, kind, read_only, source, time_ms, facts) == (
        events[0].seq,
        Kind.MANAGEMENT,
        1,
        "ec2.amazonaws.com",
        T0_MS + 5000,
        None,  # a management event's columns are all its selectors read
    )
    assert raw == events[0].row.record
    assert part.regions[stream] == "us-east-1"
    assert part.rows[1][2:4] == (Kind.DATA, 0)
    assert part.regions[part.rows[1][1]] == "eu-west-1"
    assert part.rows[2][3] is None
    assert store.read_log(ACCOUNT, 0, 100, region="eu-west-1").rows == [part.rows[1]]
    assert store.read_log("333333333333", 0, 100).rows == []
    assert store.read_log("333333333333", 0, 100).last == events[-1].seq  # scanned, nothing there


def test_read_log_scans_at_most_limit_positions_and_stops_at_until(store: Store) -> None:
    store.append([row(OTHER if i % 3 == 0 else ACCOUNT, f"e{i}") for i in range(12)])
    seqs = [e.seq for e in store.read_after(0, 100)]
    # Walking in steps of 4 positions sees every row of the account once, in order.
    seen: list[str] = []
    after = 0
    while (part := store.read_log(ACCOUNT, after, 4)).last != after:
        assert part.last - after <= 4
        seen.extend(_log_ids(part.rows))
        after = part.last
    assert seen == [f"e{i}" for i in range(12) if i % 3]
    assert after == seqs[-1]
    bounded = store.read_log(ACCOUNT, 0, 100, until=seqs[5])
    assert bounded.last == seqs[5]
    assert _log_ids(bounded.rows) == ["e1", "e2", "e4", "e5"]
    assert store.read_log(ACCOUNT, seqs[5], 100, until=seqs[5]).last == seqs[5]  # nothing left below until


def test_read_log_of_the_backend_agrees_with_the_generic_one(store: Store) -> None:
    regions = ["us-east-1", "eu-west-1"]
    store.append([row([ACCOUNT, OTHER][i % 2], f"e{i}", region=regions[i // 2 % 2]) for i in range(20)])

    def facts(part: Any) -> list[tuple[Any, ...]]:
        return [(*r[:1], *r[2:], part.regions[r[1]]) for r in part.rows]

    for account, region in itertools.product([ACCOUNT, OTHER], [None, *regions]):
        ours, generic = (
            store.read_log(account, 0, 100, None, region),
            read_log_by_read_after(store, account, 0, 100, None, region),
        )
        assert facts(ours) == facts(generic)
        assert ours.last == generic.last
        assert len(ours.rows) == (10 if region is None else 5)


def test_selector_facts_of_data_events_come_back_from_the_log(store: Store) -> None:
    """Ingest decides a data or network activity event's selector facts once; the log keeps them
    byte for byte beside the record (forward reads, read_log), and keeps none for the other kinds."""
    bucket = ("AWS::S3::Bucket", "arn:aws:s3:::b")
    rows = [
        row(ACCOUNT, "d0", category="Data", read_only=True, resources=[bucket], errorCode="NoSuchKey"),
        row(ACCOUNT, "m1", category="Management"),
        row(ACCOUNT, "n2", category="NetworkActivity", source="ec2.amazonaws.com", vpcEndpointId="vpce-1"),
        row(ACCOUNT, "i3", category="Insight", eventType="AwsCloudTrailInsight"),
    ]
    assert [r.facts is not None for r in rows] == [True, False, True, False]
    store.append(rows)
    assert [e.row.facts for e in store.read_after(0, 10)] == [r.facts for r in rows]
    assert [r[7] for r in store.read_log(ACCOUNT, 0, 100).rows] == [r.facts for r in rows]
    decoded = msgspec.msgpack.decode(rows[0].facts or b"", type=SelectorFacts)
    assert decoded == SelectorFacts(
        {"eventName": "GetObject", "errorCode": "NoSuchKey"}, [("AWS::S3::Bucket", "arn:aws:s3:::b")]
    )


def test_rows_with_and_without_resources_keep_their_order_in_one_batch(store: Store) -> None:
    """Sequence is arrival order, whatever each row carries: history's tie order and consumers'
    forward reads both follow it."""
    resource = [("AWS::S3::Bucket", "arn:aws:s3:::b")]
    batch = [
        row(ACCOUNT, "r0", resources=resource),
        row(ACCOUNT, "p1"),
        row(ACCOUNT, "p2"),
        row(ACCOUNT, "r3", resources=resource),
        row(ACCOUNT, "p4"),
    ]
    store.append(batch)
    assert ids(store.read_after(0, 10)) == ["r0", "p1", "p2", "r3", "p4"]


def test_read_after_pages_by_sequence(store: Store) -> None:
    store.append([row(ACCOUNT if i % 2 else OTHER, f"e{i}") for i in range(10)])
    events = store.read_after(0, 100)
    assert ids(store.read_after(0, 3)) == ["e0", "e1", "e2"]
    assert ids(store.read_after(events[4].seq, 3)) == ["e5", "e6", "e7"]
    assert ids(store.read_after(events[8].seq, 3)) == ["e9"]
    assert store.read_after(events[-1].seq, 3) == []


# -- the event log: the high-water mark ---------------------------------------------------------------


def test_high_sequence_is_the_last_committed_number(store: Store) -> None:
    assert store.high_sequence() == 0
    store.append([row(ACCOUNT, f"e{i}") for i in range(3)])
    first = store.high_sequence()
    assert first == everything(store)[-1].seq
    store.append([row(OTHER, "o", region="eu-west-1")])
    high = store.high_sequence()
    assert high == everything(store)[-1].seq > first
    # "An event after n" turns from yes to no once, at the mark.
    assert [bool(store.read_after(n, 1)) for n in range(high + 3)] == [True] * high + [False] * 3


def test_high_sequence_never_goes_back(backend: Backend, store: Store) -> None:
    """A purge drops the oldest events, never the mark; a retry adds no event above it."""
    store.append([row(ACCOUNT, f"a{i}") for i in range(5)])
    high = store.high_sequence()
    backend.clock.advance(DAY)
    assert store.purge_ingested_before(START + DAY) == 5
    assert store.count_events() == 0
    assert store.high_sequence() == high
    assert backend.reopen(store).high_sequence() == high


def test_every_event_up_to_the_high_sequence_is_readable_once_it_is_read(store: Store) -> None:
    """The mark is never ahead of a commit: whatever a consumer later finds at or below a mark it read,
    it could read right after reading the mark (the delivery worker delivers up to it, once)."""
    done = threading.Event()
    seen: list[tuple[int, set[int]]] = []

    def watch() -> None:
        while not done.is_set():
            high = store.high_sequence()
            readable = {e.seq for e in everything(store) if e.seq <= high}
            seen.append((high, readable))

    def write(w: int) -> None:
        for b in range(15):
            store.append([row(ACCOUNT, f"w{w}-{b}-{i}") for i in range(1 + (w + b) % 4)])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, range(4)))
    finally:
        done.set()
        watcher.join(WAIT)
    final = [e.seq for e in everything(store)]
    assert len(seen) > 1
    for high, readable in seen:
        assert readable == {seq for seq in final if seq <= high}
    assert store.high_sequence() == final[-1]


# -- the event log: history lookups -------------------------------------------------------------------


OBJECT = ("AWS::S3::Object", "arn:aws:s3:::b/k")
BUCKET = ("AWS::S3::Bucket", "arn:aws:s3:::b")
ALICE: dict[str, Any] = {"user": "alice", "access_key": "AKIAALICE"}
PUT = {"name": "PutObject", "source": "s3.amazonaws.com", "read_only": False, **ALICE, "resources": [OBJECT]}


def _attribute_fixture(store: Store) -> None:
    third = {
        "source": "ec2.amazonaws.com",
        "read_only": True,
        "access_key": "AKIAALICE2",
        "resources": [OBJECT, BUCKET],
    }
    get = {
        "name": "GetObject",
        "read_only": True,
        "user": "bob",
        "access_key": "AKIABOB",
        "resources": [BUCKET],
    }
    store.append(
        [
            row(ACCOUNT, "id-1", time_text=at(1), **PUT),
            row(ACCOUNT, "id-2", time_text=at(2), **get),
            row(ACCOUNT, "id-3", time_text=at(3), **{**PUT, **third}),
            row(ACCOUNT, "id-4", time_text=at(4), name="RunInstances", source="ec2.amazonaws.com"),
            # The same values elsewhere: another account, another region, another kind.
            row(OTHER, "id-5", time_text=at(5), **PUT),
            row(ACCOUNT, "id-6", time_text=at(6), region="eu-west-1", **PUT),
            row(ACCOUNT, "id-7", time_text=at(7), category="Data", **PUT),
        ]
    )


ATTRIBUTE_CASES = [
    ("EventId", "id-2", ["id-2"]),
    ("EventId", "id-5", []),
    ("EventName", "PutObject", ["id-3", "id-1"]),
    ("EventSource", "ec2.amazonaws.com", ["id-4", "id-3"]),
    ("ReadOnly", "true", ["id-3", "id-2"]),
    ("ReadOnly", "false", ["id-1"]),
    ("Username", "alice", ["id-3", "id-1"]),
    ("AccessKeyId", "AKIAALICE", ["id-1"]),
    ("ResourceType", "AWS::S3::Object", ["id-3", "id-1"]),
    ("ResourceType", "AWS::S3::Bucket", ["id-3", "id-2"]),
    ("ResourceName", "arn:aws:s3:::b/k", ["id-3", "id-1"]),
    ("ResourceName", "arn:aws:s3:::b", ["id-3", "id-2"]),
    ("EventName", "NoSuchEvent", []),
]


@pytest.mark.parametrize(("attribute", "value", "expected"), ATTRIBUTE_CASES)
def test_lookup_by_attribute(store: Store, attribute: str, value: str, expected: list[str]) -> None:
    _attribute_fixture(store)
    assert ids(store.lookup(query(attribute=attribute, value=value))) == expected


def test_lookup_covers_every_attribute() -> None:
    from opentrail.store import LOOKUP_ATTRIBUTES

    assert {attribute for attribute, _, _ in ATTRIBUTE_CASES} == set(LOOKUP_ATTRIBUTES)


def test_lookup_without_attribute_is_per_account_region_and_kind(store: Store) -> None:
    _attribute_fixture(store)
    assert ids(store.lookup(query())) == ["id-4", "id-3", "id-2", "id-1"]
    assert ids(store.lookup(query(OTHER))) == ["id-5"]
    assert ids(store.lookup(query(region="eu-west-1"))) == ["id-6"]
    assert ids(store.lookup(query(region="ap-south-1"))) == []
    assert ids(store.lookup(query(kind=Kind.DATA))) == ["id-7"]
    assert ids(store.lookup(query("333333333333"))) == []


def test_lookup_kind_filter_separates_insights(store: Store) -> None:
    store.append(
        [
            row(ACCOUNT, "m", time_text=at(1)),
            row(ACCOUNT, "i", time_text=at(2), category="Insight", eventType="AwsCloudTrailInsight"),
            row(ACCOUNT, "d", time_text=at(3), category="Data"),
        ]
    )
    assert ids(store.lookup(query())) == ["m"]
    assert ids(store.lookup(query(kind=Kind.INSIGHT))) == ["i"]
    assert ids(store.lookup(query(kind=Kind.INSIGHT, attribute="EventName", value="GetObject"))) == ["i"]
    assert ids(store.lookup(query(kind=Kind.MANAGEMENT, attribute="EventId", value="i"))) == []
    assert ids(store.lookup(query(kind=Kind.INSIGHT, attribute="EventId", value="i"))) == ["i"]


@pytest.mark.parametrize("attribute", [None, "EventName", "ResourceName"])
def test_lookup_time_bounds_are_inclusive(store: Store, attribute: str | None) -> None:
    store.append(
        [
            row(ACCOUNT, f"t{s}", time_text=at(s), resources=[("AWS::S3::Bucket", "arn:b")])
            for s in range(-1, 5)
        ]
    )
    value = {"EventName": "GetObject", "ResourceName": "arn:b", None: None}[attribute]
    found = store.lookup(query(attribute=attribute, value=value, start_ms=T0_MS, end_ms=T0_MS + 2000))
    assert ids(found) == ["t2", "t1", "t0"]
    one = store.lookup(query(attribute=attribute, value=value, start_ms=T0_MS + 3000, end_ms=T0_MS + 3000))
    assert ids(one) == ["t3"]
    assert store.lookup(query(attribute=attribute, value=value, start_ms=T0_MS + 1, end_ms=T0_MS + 999)) == []


@pytest.mark.parametrize("attribute", [None, "EventName", "Username", "ResourceType"])
def test_lookup_pages_newest_first_with_an_exclusive_cursor(store: Store, attribute: str | None) -> None:
    # Several events share each second; the store's order breaks ties newest-committed first.
    times = [0, 3, 1, 3, 3, 2, 0, 1, 3, 2, 2]
    rng = random.Random(3)
    batches = [times[:4], times[4:5], times[5:]]
    n = itertools.count()
    for batch in batches:
        store.append(
            [
                row(
                    ACCOUNT,
                    f"e{next(n):02d}",
                    time_text=at(s),
                    user="u",
                    resources=[("AWS::S3::Bucket", "arn:b")],
                )
                for s in batch
            ]
        )
    committed = store.read_after(0, 100)
    expected = [e.row.event_id for e in sorted(committed, key=lambda e: (e.row.time_ms, e.seq), reverse=True)]
    value = {"EventName": "GetObject", "Username": "u", "ResourceType": "AWS::S3::Bucket", None: None}[
        attribute
    ]
    assert ids(store.lookup(query(attribute=attribute, value=value))) == expected
    pages: list[list[str]] = []
    cursor: tuple[int, int] | None = None
    while True:
        page = store.lookup(query(attribute=attribute, value=value, limit=rng.randint(1, 3), before=cursor))
        if not page:
            break
        pages.append(ids(page))
        cursor = (page[-1].row.time_ms, page[-1].seq)
    assert [e for page in pages for e in page] == expected
    assert all(pages)


def test_lookup_limit(store: Store) -> None:
    store.append([row(ACCOUNT, f"e{i}", time_text=at(i)) for i in range(60)])
    assert ids(store.lookup(query(limit=1))) == ["e59"]
    assert len(store.lookup(query(limit=50))) == 50


# -- the event log: retention ------------------------------------------------------------------------


def test_purge_drops_whole_ingestion_days_before_the_cutoff(backend: Backend, store: Store) -> None:
    store.append([row(ACCOUNT, f"a{i}", time_text=at(i), resources=[BUCKET]) for i in range(3)])
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, f"b{i}", time_text=at(i), resources=[BUCKET]) for i in range(2)])
    backend.clock.advance(DAY)
    store.append([row(OTHER, "c0", time_text=at(9))])
    store.insert_doc(trail("kept"))

    assert store.purge_ingested_before(100 * DAY) == 0  # day 100 is not wholly before the cutoff
    assert store.count_events() == 6
    assert store.purge_ingested_before(101 * DAY + 5) == 3
    assert store.count_events() == 3
    assert store.get_event(ACCOUNT, "a0") is None
    assert ids(store.read_after(0, 10)) == ["b0", "b1", "c0"]
    assert ids(store.lookup(query())) == ["b1", "b0"]
    assert ids(store.lookup(query(attribute="ResourceName", value=BUCKET[1]))) == ["b1", "b0"]
    assert ids(store.lookup(query(attribute="EventName", value="GetObject"))) == ["b1", "b0"]
    assert store.purge_ingested_before(101 * DAY + 5) == 0
    assert store.purge_ingested_before(102 * DAY) == 2
    assert ids(store.read_after(0, 10)) == ["c0"]
    assert store.get_doc("trail", ACCOUNT, trail("kept").arn) is not None


def test_retention_is_judged_by_ingestion_not_event_time(backend: Backend, store: Store) -> None:
    """A replayed log file keeps its original, years-old event times and stays searchable."""
    store.append([row(ACCOUNT, "old", time_text="2015-03-01T00:00:00Z")])
    assert store.purge_ingested_before(START) == 0
    found = store.lookup(query(start_ms=1425168000000, end_ms=1425168000000))
    assert ids(found) == ["old"]


def test_sequence_never_goes_back_after_a_purge(backend: Backend, store: Store) -> None:
    """Consumers keep a durable cursor; a sequence number issued again would hide new events from them."""
    store.append([row(ACCOUNT, f"a{i}") for i in range(5)])
    high = store.read_after(0, 10)[-1].seq
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, "a0")])  # the day's only ingest is a client's retry
    assert store.purge_ingested_before(START + DAY) == 5
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, "new")])
    assert ids(store.read_after(high, 10)) == ["new"]


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_writers_store_every_row_once_and_a_consumer_skips_none(store: Store) -> None:
    writers, rounds = 12, 30
    done = threading.Event()
    consumed: list[StoredEvent] = []

    def consume() -> None:
        cursor = 0
        while True:
            finished = done.is_set()  # read before the page, so the last page is taken after the end
            page = store.read_after(cursor, 200)
            consumed.extend(page)
            if page:
                cursor = page[-1].seq
            elif finished:
                return

    def write(w: int) -> tuple[set[str], list[Future[None]]]:
        rng = random.Random(w)
        sent: set[str] = set()
        futures: list[Future[None]] = []
        previous: list[EventRow] = []
        for r in range(rounds):
            batch = [row(ACCOUNT if w % 3 else OTHER, f"w{w}-r{r}-{i}", time_text=at(rng.randint(0, 9)))
                     for i in range(rng.randint(1, 25))]  # fmt: skip
            sent.update(b.event_id for b in batch)
            if r % 5 == 4:
                batch = batch + previous[:3]  # a client retry: already-stored rows ride along
            if r % 2:
                futures.append(store.submit(batch))
            else:
                store.append(batch)
            previous = batch
        return sent, futures

    consumer = threading.Thread(target=consume)
    consumer.start()
    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(write, range(writers)))
    for _, futures in results:
        for future in futures:
            assert future.result(WAIT) is None
    done.set()
    consumer.join(WAIT)
    assert not consumer.is_alive()

    expected = set().union(*(sent for sent, _ in results))
    stored = everything(store)
    assert len(stored) == len(expected) == store.count_events()
    assert set(ids(stored)) == expected
    seqs = [e.seq for e in stored]
    assert seqs == sorted(set(seqs))
    # The consumer read while writers committed: it saw every event exactly once, in sequence order.
    assert ids(consumed) == ids(stored)


def test_a_completed_append_is_ordered_before_a_later_one(store: Store) -> None:
    order: list[str] = []
    lock = threading.Lock()

    def write(w: int) -> None:
        for i in range(20):
            with lock:  # the next append starts only after the previous one returned
                store.append([row(ACCOUNT, f"w{w}-{i}")])
                order.append(f"w{w}-{i}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert ids(store.read_after(0, 1000)) == order


def test_two_open_stores_on_one_database_share_the_log(backend: Backend, store: Store) -> None:
    """Several nodes share one database; a node must see what another appended and append beside it."""
    second = backend.open()
    store.append([row(ACCOUNT, "from-first", time_text=at(1), region="ap-south-1")])
    assert ids(second.lookup(query(region="ap-south-1"))) == ["from-first"]
    second.append([row(ACCOUNT, "from-second", time_text=at(2), region="sa-east-1")])
    store.append([row(ACCOUNT, "first-again", time_text=at(3), region="sa-east-1")])
    assert ids(store.lookup(query(region="sa-east-1"))) == ["first-again", "from-second"]
    assert ids(second.read_after(0, 10)) == ["from-first", "from-second", "first-again"]


# -- driver errors ----------------------------------------------------------------------------------


def test_a_failing_database_is_a_store_error_and_the_store_recovers(backend: Backend, store: Store) -> None:
    """The driver's own exceptions never reach a caller: reads and writes that the database refuses are
    ``StoreError`` (the API's retryable error), and the store works again once the database does."""
    store.set_meta_default("k", "v")
    backend.execute("ALTER TABLE meta RENAME TO meta_gone")
    with pytest.raises(StoreError, match=r"^reading the \w+ store failed: .*meta"):
        store.get_meta("k")
    with pytest.raises(StoreError, match=r"^writing to the \w+ store failed: .*meta"):
        store.set_meta_default("other", "v")
    backend.execute("ALTER TABLE meta_gone RENAME TO meta")
    assert store.get_meta("k") == "v"
    assert store.set_meta_default("other", "w") == "w"


def test_a_group_the_database_refuses_fails_with_store_error_and_the_writer_goes_on(
    backend: Backend, store: Store
) -> None:
    store.append([row(ACCOUNT, "before")])
    backend.execute("ALTER TABLE streams RENAME TO streams_gone")
    with pytest.raises(StoreError, match="streams"):
        store.append([row(ACCOUNT, "lost", region="ap-south-1")])  # a new stream: its row is refused
    backend.execute("ALTER TABLE streams_gone RENAME TO streams")
    store.append([row(ACCOUNT, "after", region="ap-south-1")])
    assert ids(everything(store)) == ["before", "after"]


def test_every_unique_key_is_a_conflict_not_a_store_error(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "a", 1.0))
    store.add_access_key(key("AKIAONE"))
    store.add_bucket("b", ACCOUNT)
    store.insert_doc(trail("t"))
    store.insert_doc(trail("u"))

    def rename(doc: Doc) -> Doc:
        return Doc(doc.kind, doc.account, doc.region, "t", doc.arn, doc.body)

    refused: list[Callable[[], Any]] = [
        lambda: store.add_account(Account(ACCOUNT, "again", 2.0)),
        lambda: store.add_access_key(key("AKIAONE")),
        lambda: store.add_access_key(key("AKIANOACCOUNT", account=OTHER)),  # a key of no account
        lambda: store.add_bucket("b", OTHER),
        lambda: store.insert_doc(trail("t")),
        lambda: store.update_doc("trail", ACCOUNT, trail("u").arn, rename),
    ]
    for call in refused:
        with pytest.raises(ConflictError):
            call()


# -- property: records come back byte for byte ---------------------------------------------------------

_WS = st.sampled_from(["", " ", "\n", "\t", "  ", "\r\n"])
_NUMBER = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)
_TEXT = st.text(max_size=40)
_MODELLED = {
    "eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "eventID", "readOnly",
    "eventType", "eventCategory", "managementEvent", "userIdentity", "resources", "insightDetails",
    "eventData",
}  # fmt: skip
_IDENTITY_MODELLED = frozenset(
    {"type", "principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext"}
)


def _string(text: str) -> st.SearchStrategy[str]:
    return st.booleans().map(lambda ascii_only: json.dumps(text, ensure_ascii=ascii_only))


def _json_string() -> st.SearchStrategy[str]:
    return _TEXT.flatmap(_string)


def _object(members: st.SearchStrategy[list[tuple[str, str]]]) -> st.SearchStrategy[str]:
    """A JSON object from (already encoded key, encoded value) pairs, with arbitrary whitespace."""

    def render(data: tuple[list[tuple[str, str]], list[str]]) -> str:
        pairs, spaces = data
        ws = itertools.cycle(spaces or [""])
        body = ",".join(f"{next(ws)}{k}{next(ws)}:{next(ws)}{v}{next(ws)}" for k, v in pairs)
        return "{" + body + next(ws) + "}"

    return st.tuples(members, st.lists(_WS, min_size=1, max_size=5)).map(render)


def _key_value(
    value: st.SearchStrategy[str], exclude: frozenset[str] = frozenset()
) -> st.SearchStrategy[list[tuple[str, str]]]:
    keys = _TEXT.filter(lambda k: k not in exclude)
    return st.dictionaries(keys, value, max_size=6).flatmap(
        lambda d: st.tuples(*(st.tuples(_string(k), st.just(v)) for k, v in d.items())).map(list)
    )


_VALUE = st.recursive(
    st.one_of(st.sampled_from(["null", "true", "false"]), _NUMBER, _json_string()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda xs: "[" + ",".join(xs) + "]"),
        _object(_key_value(inner)),
    ),
    max_leaves=12,
)


@st.composite
def cloudtrail_records(draw: st.DrawFn) -> tuple[bytes, dict[str, str]]:
    """A record with the fields OpenTrail indexes plus arbitrary others, as JSON text in any style."""
    seconds = draw(st.integers(0, 4_000_000_000))
    fraction = draw(st.sampled_from(["", ".000", ".5", ".123456"]))
    known = {
        "eventID": draw(st.text(min_size=1, max_size=64)),
        "eventName": draw(st.text(min_size=1, max_size=64)),
        "eventSource": draw(st.text(min_size=1, max_size=64)),
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + fraction + "Z",
        "awsRegion": draw(st.from_regex(r"[a-z]{2}-[a-z]{4,9}-[1-9]", fullmatch=True)),
        "userName": draw(st.text(min_size=1, max_size=32)),
    }
    identity = _object(
        _key_value(_VALUE, _IDENTITY_MODELLED).map(
            lambda extra: [(json.dumps("userName"), json.dumps(known["userName"])), *extra]
        )
    )
    members = [
        (json.dumps(k), json.dumps(known[k], ensure_ascii=draw(st.booleans())))
        for k in ("eventID", "eventName", "eventSource", "eventTime", "awsRegion")
    ]
    members.append(('"eventVersion"', json.dumps(draw(st.sampled_from(["1.0", "1.08", "1.11", "9.99"])))))
    members.append(('"userIdentity"', draw(identity)))
    members.extend(draw(_key_value(_VALUE, frozenset(_MODELLED))))
    order = draw(st.permutations(members))
    text = draw(_object(st.just(list(order))))
    return text.encode(), known


_accounts = (f"{n:012d}" for n in itertools.count(100_000_000_000))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cloudtrail_records())
def test_records_round_trip_byte_for_byte(store: Store, sent: tuple[bytes, dict[str, str]]) -> None:
    raw, known = sent
    account = next(_accounts)  # a fresh account per example: the store is shared by all examples
    stored_row = index_record(raw, account)
    store.append([stored_row])

    found = store.get_event(account, known["eventID"])
    assert found is not None
    by_id = store.lookup(
        query(account, region=known["awsRegion"], attribute="EventId", value=known["eventID"])
    )
    by_name = store.lookup(
        query(account, region=known["awsRegion"], attribute="EventName", value=known["eventName"])
    )
    by_user = store.lookup(
        query(account, region=known["awsRegion"], attribute="Username", value=known["userName"])
    )
    window = store.lookup(
        query(account, region=known["awsRegion"], start_ms=stored_row.time_ms, end_ms=stored_row.time_ms)
    )
    for events in (by_id, by_name, by_user, window):
        assert ids(events) == [known["eventID"]]
    for event in (found, *by_id, *by_name, *by_user, *window):
        assert event.row.record == raw
        assert json.loads(event.row.record) == json.loads(raw)
        assert event.row.account == account
        assert event.row.region == known["awsRegion"]
