"""Appending to the event log: durable once ``append`` returns, numbered in sequence, and a retried
event stored once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentrail.events import Kind
from opentrail.store import Store
from tests.support.databases import Backend
from tests.support.store import ACCOUNT, OTHER, T0_MS, WAIT, at, everything, ids, query, row


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
