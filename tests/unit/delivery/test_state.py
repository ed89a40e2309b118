"""A trail's delivery state (``delivery/state.py``): the worker's fenced write keeps what others write
concurrently -- StopLogging's ``until``, DeleteTrail's ``deleted``, the notifier's facts, the lease --
and writes nothing over a state a hook reset since the pass read it (a newer ``generation``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentrail.delivery.leases import LeaseLost
from opentrail.delivery.state import KIND, DigestChain, LogRange, State, load_state, save_state
from opentrail.store import Doc, Store
from tests.support.services import sqlite_store

ACCOUNT = "111122223333"
ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def stored(store: Store, **fields: Any) -> Doc:
    state = State(trail={"Name": "t1"}, **fields)
    return store.insert_doc(Doc(KIND, ACCOUNT, "us-east-1", "t1", ARN, msgspec.to_builtins(state)))


def meanwhile(store: Store, changes: dict[str, Any]) -> None:
    """Another writer (a hook, the notifier) changes the stored state while the pass runs."""

    def change(doc: Doc) -> Doc:
        doc.body = {**doc.body, **changes}
        return doc

    store.update_doc(KIND, ACCOUNT, ARN, change)


def current(store: Store) -> State:
    doc = store.get_doc(KIND, ACCOUNT, ARN)
    assert doc is not None
    return load_state(doc)


def test_a_state_survives_its_document() -> None:
    state = State(
        trail={"Name": "t1", "IsLogging": True},
        started=5.0,
        cursor=10,
        batch=LogRange(11, 20, 30.5),
        regions={"us-east-1": DigestChain(window=0.0, logs=[{"s3Object": "k"}], previous={"s3Object": "d"})},
        status={"LatestDeliveryTime": 30.5},
        member="444455556666",
        generation=3,
    )
    doc = Doc(KIND, ACCOUNT, "us-east-1", "t1", ARN, msgspec.to_builtins(state))
    assert load_state(doc) == state


def test_the_workers_write_keeps_until_and_deleted_as_stored(store: Store) -> None:
    doc = stored(store)
    read = load_state(doc)  # what the pass read: not stopped, not deleted
    meanwhile(store, {"until": 42, "deleted": True})
    read.cursor = 7
    save_state(store, doc, read)
    after = current(store)
    assert (after.cursor, after.until, after.deleted) == (7, 42, True)


def test_the_notifiers_facts_survive_the_workers_copy(store: Store) -> None:
    doc = stored(store, status={"LatestNotificationError": "stale"})
    read = load_state(doc)
    facts = {"LatestNotificationTime": 9.0, "LatestNotificationAttemptSucceeded": "2024-01-01T00:00:09Z"}
    meanwhile(store, {"status": facts})
    read.status = {"LatestDeliveryTime": 10.0, "LatestNotificationError": "stale"}
    save_state(store, doc, read)
    assert current(store).status == {"LatestDeliveryTime": 10.0, **facts}


def test_a_state_reset_since_the_pass_read_it_is_not_overwritten(store: Store) -> None:
    doc = stored(store, generation=1)
    read = load_state(doc)
    meanwhile(store, {"generation": 2, "cursor": 99})
    read.cursor = 5
    with pytest.raises(LeaseLost, match=f"delivery state of {ARN} was reset during the pass"):
        save_state(store, doc, read)
    assert (current(store).cursor, current(store).generation) == (99, 2)


def test_the_fence_decides_the_lease(store: Store) -> None:
    held = {"node": "a", "until": 100.0}
    doc = stored(store, lease=held)
    read = load_state(doc)
    read.lease = {"node": "stale copy"}
    save_state(store, doc, read)
    assert current(store).lease == held  # without a fence the stored lease stays
    renewed = {"node": "a", "until": 200.0}
    seen: list[Any] = []

    def fence(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body["lease"])
        return renewed

    save_state(store, doc, read, fence=fence)
    assert seen == [held]
    assert current(store).lease == renewed

    def lost(_body: dict[str, Any]) -> dict[str, Any]:
        raise LeaseLost("another node holds it")

    read.cursor = 1000
    with pytest.raises(LeaseLost):
        save_state(store, doc, read, fence=lost)
    assert current(store).cursor != 1000


def test_settle_changes_until_and_deleted_in_the_same_write(store: Store) -> None:
    doc = stored(store)
    meanwhile(store, {"until": 42})
    seen: list[Any] = []

    def settle(body: dict[str, Any]) -> None:
        seen.append(body["until"])  # the stored value, not the pass's
        body["until"] = None

    save_state(store, doc, load_state(doc), settle)
    assert seen == [42]
    assert current(store).until is None
