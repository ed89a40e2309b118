"""Alarms' tables (``store.alarms``): every change a compare-and-set on the alarm's version, in one
transaction with its history rows and the documents it queues; history read by time both ways; leases
that give each alarm to one node at a time. On every backend."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from opentrail.errors import ApiError, api_error
from opentrail.store import Doc, Store
from opentrail.store.alarms import HistoryQuery, HistoryRow

ACCOUNT, REGION = "111122223333", "us-east-1"


def row(name: str, at: float, item_type: str = "StateUpdate", summary: str = "s") -> HistoryRow:
    return HistoryRow(ACCOUNT, REGION, name, "MetricAlarm", item_type, at, summary, "{}")


def create(store: Store, name: str, body: dict[str, Any] | None = None) -> None:
    def change(current: dict[str, Any] | None, count: int) -> Any:
        assert current is None
        return body or {"AlarmName": name, "StateValue": "OK"}, [row(name, 1.0, "ConfigurationUpdate")], []

    store.alarms.change(ACCOUNT, REGION, name, change)


def notice(ident: str) -> Doc:
    return Doc("notice", ACCOUNT, REGION, ident, ident, {"message": ident})


def test_an_alarm_is_created_read_listed_by_name_and_deleted(store: Store) -> None:
    for name in ("b", "a", "B"):
        create(store, name)
    stored = store.alarms.get(ACCOUNT, REGION, "a")
    assert stored is not None
    assert (stored.body, stored.version) == ({"AlarmName": "a", "StateValue": "OK"}, 1)
    assert [a.name for a in store.alarms.in_region(ACCOUNT, REGION)] == ["B", "a", "b"]  # byte order
    assert store.alarms.in_region(ACCOUNT, "eu-west-1") == []
    assert store.alarms.delete(ACCOUNT, REGION, ["a", "b"], [row("a", 2.0)]) == []
    assert [a.name for a in store.alarms.every()] == ["B"]


def test_deleting_with_one_name_missing_deletes_none(store: Store) -> None:
    create(store, "a")
    assert store.alarms.delete(ACCOUNT, REGION, ["a", "nope"], [row("a", 2.0)]) == ["nope"]
    assert store.alarms.get(ACCOUNT, REGION, "a") is not None
    assert [r.at for r in store.alarms.history(HistoryQuery(ACCOUNT, REGION))] == [1.0]


def test_a_change_sees_the_count_and_an_error_in_it_writes_nothing(store: Store) -> None:
    create(store, "a")
    counts: list[int] = []

    def refuse(current: dict[str, Any] | None, count: int) -> Any:
        counts.append(count)
        raise api_error("LimitExceededFault")("too many")

    with pytest.raises(ApiError):
        store.alarms.change(ACCOUNT, REGION, "b", refuse)
    assert counts == [1]
    assert store.alarms.get(ACCOUNT, REGION, "b") is None


def test_replace_is_a_compare_and_set_with_its_history_and_documents(store: Store) -> None:
    create(store, "a")
    first = store.alarms.get(ACCOUNT, REGION, "a")
    assert first is not None
    assert store.alarms.replace(first, {"StateValue": "ALARM"}, [row("a", 5.0)], [notice("n1")])
    # A writer that read the same version loses: nothing of it is written.
    assert not store.alarms.replace(first, {"StateValue": "OK"}, [row("a", 6.0)], [notice("n2")])
    stored = store.alarms.get(ACCOUNT, REGION, "a")
    assert stored is not None
    assert (stored.body, stored.version) == ({"StateValue": "ALARM"}, 2)
    assert [d.arn for d in store.list_docs("notice", ACCOUNT)] == ["n1"]
    updates = store.alarms.history(HistoryQuery(ACCOUNT, REGION, item_type="StateUpdate"))
    assert [r.at for r in updates] == [5.0]


def test_a_document_already_queued_is_not_queued_twice(store: Store) -> None:
    create(store, "a")
    first = store.alarms.get(ACCOUNT, REGION, "a")
    assert first is not None
    store.insert_doc(notice("n1"))
    assert store.alarms.replace(first, {"StateValue": "ALARM"}, [], [notice("n1"), notice("n2")])
    assert sorted(d.arn for d in store.list_docs("notice", ACCOUNT)) == ["n1", "n2"]


def test_history_pages_by_time_both_ways_and_filters(store: Store) -> None:
    store.alarms.record([row("a", 1.0), row("b", 2.0), row("a", 2.0, "Action"), row("a", 3.0)])
    newest = store.alarms.history(HistoryQuery(ACCOUNT, REGION, limit=2))
    assert [(r.name, r.at) for r in newest] == [("a", 3.0), ("a", 2.0)]
    rest = store.alarms.history(HistoryQuery(ACCOUNT, REGION, after=(newest[-1].at, newest[-1].id)))
    assert [(r.name, r.at) for r in rest] == [("b", 2.0), ("a", 1.0)]
    oldest = store.alarms.history(HistoryQuery(ACCOUNT, REGION, name="a", ascending=True))
    assert [r.at for r in oldest] == [1.0, 2.0, 3.0]
    window = store.alarms.history(HistoryQuery(ACCOUNT, REGION, start=2.0, end=2.0, item_type="StateUpdate"))
    assert [(r.name, r.at) for r in window] == [("b", 2.0)]


def test_a_lease_gives_each_alarm_to_one_node_until_it_expires(store: Store) -> None:
    create(store, "a")
    create(store, "b")
    assert {a.name for a in store.alarms.lease("node-1", 100.0, 15.0)} == {"a", "b"}
    assert store.alarms.lease("node-2", 110.0, 15.0) == []  # still node-1's
    assert {a.name for a in store.alarms.lease("node-1", 110.0, 15.0)} == {"a", "b"}  # renewed to 125
    assert {a.name for a in store.alarms.lease("node-2", 126.0, 15.0)} == {"a", "b"}  # expired: taken over
    assert store.alarms.lease("node-1", 127.0, 15.0) == []


def test_concurrent_changes_of_one_alarm_are_all_applied(store: Store) -> None:
    create(store, "a", {"AlarmName": "a", "n": 0})

    def bump(current: dict[str, Any] | None, count: int) -> Any:
        assert current is not None
        return {**current, "n": current["n"] + 1}, [], []

    threads = [
        threading.Thread(target=lambda: store.alarms.change(ACCOUNT, REGION, "a", bump)) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.alarms.get(ACCOUNT, REGION, "a")
    assert stored is not None
    assert (stored.body["n"], stored.version) == (4, 5)


def test_history_is_purged_by_age(store: Store) -> None:
    store.alarms.record([row("a", 1.0), row("a", 2.0), row("b", 3.0)])
    assert store.alarms.purge_history(2.5) == 2
    assert [(r.name, r.at) for r in store.alarms.history(HistoryQuery(ACCOUNT, REGION))] == [("b", 3.0)]
