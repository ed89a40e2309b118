"""Documents (trails, channels): bodies kept as given, names unique per account, kind and region,
atomic read-modify-write, and checks that hold limits under concurrent calls."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest

from opentrail.errors import ConflictError
from opentrail.store import Doc, Store
from tests.support.databases import Backend
from tests.support.store import ACCOUNT, OTHER, WAIT, everything, ids, row, trail


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
