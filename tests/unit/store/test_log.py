"""What both backends' event logs do alike: a row's resources as stored and read back, a stored row back
to the event ingest indexed, and the page arithmetic of history lookups."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from opentrail.events import Kind
from opentrail.ingest.records import index_record
from opentrail.store.base import EventQuery
from opentrail.store.log import (
    decode_resources,
    encode_resources,
    names_resource,
    newest,
    stored_event,
    window_of,
)

ACCOUNT = "111111111111"
PAIRS = st.lists(st.tuples(st.none() | st.text(), st.none() | st.text()), max_size=5)


@given(PAIRS)
def test_resources_round_trip_and_none_is_stored_as_null(pairs: list[tuple[str | None, str | None]]) -> None:
    stored = encode_resources(pairs)
    if not pairs:
        assert stored is None
    else:
        assert stored is not None
        assert decode_resources(stored) == pairs


def test_a_stored_row_comes_back_as_the_event_ingest_indexed() -> None:
    record = {
        "eventVersion": "1.11",
        "eventTime": "2024-05-01T12:00:00.250Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "PutObject",
        "awsRegion": "eu-west-1",
        "eventID": "ev-1",
        "readOnly": False,
        "eventCategory": "Data",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIAALICE"},
        "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}],
    }
    row = index_record(json.dumps(record).encode(), ACCOUNT)
    read_only = None if row.read_only is None else int(row.read_only)
    event = stored_event(
        7,
        row.account,
        row.region,
        int(row.kind),
        row.time_ms,
        row.event_id,
        row.event_name,
        row.event_source,
        read_only,
        row.username,
        row.access_key_id,
        row.record,
        encode_resources(row.resources),
        row.facts,
    )
    assert event.seq == 7
    assert event.row == row
    assert event.row.kind is Kind.DATA
    absent = stored_event(8, ACCOUNT, "eu-west-1", 0, 1, "e", None, None, None, None, None, b"{}", None, None)
    assert (absent.row.read_only, absent.row.resources) == (None, ())


def test_the_window_is_capped_by_the_cursor() -> None:
    first = EventQuery(ACCOUNT, "us-east-1", Kind.MANAGEMENT, 100, 900, 50)
    assert window_of(first) == (100, 900, 901, 0)  # everything up to the end, inclusive
    deeper = EventQuery(ACCOUNT, "us-east-1", Kind.MANAGEMENT, 100, 900, 50, before=(500, 42))
    assert window_of(deeper) == (100, 500, 500, 42)
    later = EventQuery(ACCOUNT, "us-east-1", Kind.MANAGEMENT, 100, 900, 50, before=(2000, 42))
    assert window_of(later) == (100, 900, 2000, 42)


def test_newest_orders_by_time_then_sequence() -> None:
    rows = [(1, "a", 500), (2, "b", 700), (3, "c", 500), (4, "d", 100)]
    assert newest(rows, 3, 2) == [(2, "b", 700), (3, "c", 500), (1, "a", 500)]
    assert newest(rows, 10, 2)[-1] == (4, "d", 100)


def test_a_resources_column_names_a_type_or_an_arn() -> None:
    stored = encode_resources([("AWS::S3::Bucket", "arn:aws:s3:::b"), (None, "arn:aws:s3:::c")])
    assert names_resource(stored, 0, "AWS::S3::Bucket")
    assert names_resource(stored, 1, "arn:aws:s3:::c")
    assert not names_resource(stored, 0, "arn:aws:s3:::c")
    assert not names_resource(None, 1, "arn:aws:s3:::c")
