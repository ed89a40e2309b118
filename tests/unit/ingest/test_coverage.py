"""Which trails cover an account's events at ingest (``opentrail.ingest.coverage``), against a real
store: the covering trails, the data events no logging trail selects dropped, and the cache of compiled
trails forgotten on a change, bounded, and expired after its TTL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from opentrail.clock import FixedClock
from opentrail.events import EventRow
from opentrail.ingest.coverage import Coverage
from opentrail.ingest.records import index_record
from opentrail.store import Doc
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails
from tests.support.selection_cases import ACCOUNT, REGION, management, network, s3_object, trail_with


def test_covering_trails_and_dropping_unselected_data_events(tmp_path: Path) -> None:
    """A real store: logging trails cover their home region, multi-region ones every region; stopped
    trails none. ``forget`` makes a change visible to the next ingest at once."""
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    coverage = Coverage(store)
    try:
        all_s3 = {
            "EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
        }
        west = msgspec.structs.replace(
            trail_with(all_s3, home_region="us-west-2"),
            name="west",
            trail_arn=f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/west",
        )
        stopped = msgspec.structs.replace(
            trail_with(all_s3),
            name="stopped",
            trail_arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/stopped",
            is_logging=False,
        )
        for trail in (west, stopped):
            store.insert_doc(trails.to_doc(trail, ACCOUNT))

        def rows(region: str) -> list[EventRow]:
            return [
                index_record(json.dumps({**record, "awsRegion": region}).encode(), ACCOUNT)
                for record in (management(), s3_object(), network())
            ]

        def kept(region: str) -> list[int]:
            return [int(row.kind) for row in coverage.drop_unselected(rows(region))]

        assert [t.name for t in coverage.covering_trails(ACCOUNT, "us-west-2")] == ["west"]
        assert coverage.covering_trails(ACCOUNT, REGION) == []
        assert kept("us-west-2") == [0, 1]  # management always; the S3 object event selected; network not
        assert kept(REGION) == [0]

        def go_multi(doc: Doc) -> Doc:
            doc.body = {**doc.body, "IsMultiRegionTrail": True}
            return doc

        store.update_doc(trails.KIND, ACCOUNT, west.trail_arn, go_multi)
        assert kept(REGION) == [0]  # cached: this change was not announced
        coverage.forget(ACCOUNT)
        assert kept(REGION) == [0, 1]
        assert [t.name for t in coverage.covering_trails(ACCOUNT, "eu-central-1")] == ["west"]
        assert coverage.covering_trails("210987654321", REGION) == []
    finally:
        store.close()


ALL_S3 = {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(str(tmp_path / "db.sqlite"))
    yield opened
    opened.close()


def _data_events(region: str = REGION, account: str = ACCOUNT) -> list[EventRow]:
    return [index_record(json.dumps({**s3_object(), "awsRegion": region}).encode(), account)]


def test_another_process_change_is_seen_after_the_ttl(store: SQLiteStore) -> None:
    """A trail written to the store without an announcement (another node's change) is seen once the
    cached entry expires, and not before."""
    clock = FixedClock(0.0)
    coverage = Coverage(store, ttl=5.0, timer=clock.now)
    assert coverage.drop_unselected(_data_events()) == []
    store.insert_doc(trails.to_doc(trail_with(ALL_S3), ACCOUNT))
    clock.advance(4.9)
    assert coverage.drop_unselected(_data_events()) == []
    clock.advance(0.2)
    assert len(coverage.drop_unselected(_data_events())) == 1


def test_forget_clears_one_account_or_all(store: SQLiteStore) -> None:
    other = "210987654321"
    coverage = Coverage(store)
    assert coverage.drop_unselected(_data_events() + _data_events(account=other)) == []
    store.insert_doc(trails.to_doc(trail_with(ALL_S3), ACCOUNT))
    theirs = msgspec.structs.replace(
        trail_with(ALL_S3), trail_arn=f"arn:aws:cloudtrail:{REGION}:{other}:trail/{REGION}"
    )
    store.insert_doc(trails.to_doc(theirs, other))
    coverage.forget(other)
    kept = coverage.drop_unselected(_data_events() + _data_events(account=other))
    assert [row.account for row in kept] == [other]  # ACCOUNT's entry is still cached
    coverage.forget()
    kept = coverage.drop_unselected(_data_events() + _data_events(account=other))
    assert [row.account for row in kept] == [ACCOUNT, other]


def test_the_cache_is_bounded_and_stays_correct(store: SQLiteStore) -> None:
    """More (account, region) pairs than the cache holds: each batch is still decided right."""
    store.insert_doc(
        trails.to_doc(msgspec.structs.replace(trail_with(ALL_S3), is_multi_region_trail=True), ACCOUNT)
    )
    coverage = Coverage(store, size=2)
    for region in ("us-east-1", "us-west-2", "eu-west-1", "ap-south-1", "us-east-1"):
        assert len(coverage.drop_unselected(_data_events(region))) == 1, region
        assert len(coverage.drop_unselected(_data_events(region, account="210987654321"))) == 0, region


def test_management_events_stay_whatever_trails_say(store: SQLiteStore) -> None:
    rows = [index_record(json.dumps(record).encode(), ACCOUNT) for record in (management(), network())]
    assert [row.kind for row in Coverage(store).drop_unselected(rows)] == [rows[0].kind]
