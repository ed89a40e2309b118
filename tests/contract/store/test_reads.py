"""Reading the event log forward, as consumers do: ``read_after`` in commit order, and ``read_log``,
one account's rows with the columns delivery reads."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec

from opentrail.events import Kind
from opentrail.selectors.facts import SelectorFacts
from opentrail.store import Store
from opentrail.store.base import read_log_by_read_after
from tests.support.store import ACCOUNT, OTHER, T0_MS, at, ids, row


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
