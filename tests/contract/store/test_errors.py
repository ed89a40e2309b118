"""The errors a caller sees: a database that refuses work is a ``StoreError`` the store recovers from,
and every unique key met is a ``ConflictError``; no driver exception gets through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from opentrail.errors import ConflictError, StoreError
from opentrail.store import Account, Doc, Store
from tests.support.databases import Backend
from tests.support.store import ACCOUNT, OTHER, everything, ids, key, row, trail


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
