"""Event history lookups: by each lookup attribute, per account, region and kind, within inclusive
time bounds, newest first with an exclusive cursor."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from opentrail.events import Kind
from opentrail.store import Store
from tests.support.store import ACCOUNT, BUCKET, OBJECT, OTHER, T0_MS, at, ids, query, row

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
