"""``index_record`` (``opentrail.ingest.records``): what it refuses, naming the field and what was wrong,
and the row it makes of what it accepts: the index fields history reads, the selector facts of data
events, and the bytes exactly as sent.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentrail.errors import RecordError
from opentrail.events import EventTimes, Kind
from opentrail.ingest.records import MAX_RECORD_BYTES, index_record
from tests.support.selection_cases import ACCOUNT, CASES, legacy_data, management, network, s3_object


def raw(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def refusal(record: dict[str, Any] | bytes) -> RecordError:
    with pytest.raises(RecordError) as info:
        index_record(record if isinstance(record, bytes) else raw(record), ACCOUNT)
    return info.value


def test_only_data_and_network_activity_events_get_facts() -> None:
    for case in CASES:
        for record, _ in case.events:
            row = index_record(json.dumps(record).encode(), ACCOUNT)
            assert (row.facts is not None) is (row.kind in (Kind.DATA, Kind.NETWORK)), record


def test_a_management_record_becomes_its_row() -> None:
    sent = raw(management(eventID="e-1", eventTime="2024-01-01T00:00:05Z", awsRegion="eu-west-1"))
    row = index_record(sent, ACCOUNT)
    assert row.record is sent
    assert (row.account, row.region, row.kind, row.event_id) == (ACCOUNT, "eu-west-1", Kind.MANAGEMENT, "e-1")
    assert (row.event_name, row.event_source, row.read_only) == ("RunInstances", "ec2.amazonaws.com", False)
    assert row.time_ms == 1_704_067_205_000
    assert (row.username, row.access_key_id) == ("alice", None)
    assert (row.resources, row.facts) == ([], None)


def test_resources_and_kinds_are_read() -> None:
    row = index_record(raw(s3_object("arn:aws:s3:::b/k")), ACCOUNT)
    assert row.kind is Kind.DATA
    assert row.resources == [("AWS::S3::Object", "arn:aws:s3:::b/k"), ("AWS::S3::Bucket", "arn:aws:s3:::b")]
    assert index_record(raw(network()), ACCOUNT).kind is Kind.NETWORK
    assert index_record(raw(legacy_data()), ACCOUNT).kind is Kind.DATA  # before eventVersion 1.07


@pytest.mark.parametrize(
    "field", ["eventVersion", "eventID", "awsRegion", "eventTime", "eventSource", "eventName"]
)
def test_a_missing_required_field_is_named(field: str) -> None:
    error = refusal(management(**{field: None}))
    assert field in error.message
    assert error.code == "FieldNotFound"


def test_limits_and_shapes_are_refused_with_the_reason() -> None:
    assert refusal(management(eventID="x" * 1025)).code == "FieldTooLong"
    assert "region name" in refusal(management(awsRegion="US East")).message
    assert "ISO-8601" in refusal(management(eventTime="yesterday")).message
    assert "wrong type" in refusal(management(readOnly="yes")).message
    assert "not valid JSON" in refusal(b"{").message
    assert "UTF-8" in refusal(raw(management())[:-1] + b'"\xff"}').message
    padded = management(requestParameters={"pad": "x" * MAX_RECORD_BYTES})
    assert refusal(padded).code == "FieldTooLong"


def test_an_insight_takes_its_name_and_source_from_its_details() -> None:
    record = management(
        eventType="AwsCloudTrailInsight",
        eventCategory="Insight",
        eventName=None,
        eventSource=None,
        insightDetails={"eventName": "RunInstances", "eventSource": "ec2.amazonaws.com"},
    )
    row = index_record(raw(record), ACCOUNT)
    assert (row.kind, row.event_name, row.event_source) == (Kind.INSIGHT, "RunInstances", "ec2.amazonaws.com")


def test_an_integration_event_is_read_from_its_event_data() -> None:
    """PutAuditEvents' envelope: name, source and identity come from the producer's eventData, whose
    identity is read leniently (its non-text members are ignored, not refused)."""
    record = {
        "eventVersion": "1.11",
        "eventCategory": "ActivityAuditLog",
        "eventType": "ActivityLog",
        "eventID": "e-2",
        "eventTime": "2024-01-01T00:00:00Z",
        "awsRegion": "us-east-1",
        "eventData": {
            "eventName": "SignIn",
            "eventSource": "app.example.com",
            "userIdentity": {"type": "CustomUser", "userName": "alice", "accessKeyId": 7},
        },
    }
    row = index_record(raw(record), ACCOUNT)
    assert (row.kind, row.event_name, row.event_source) == (Kind.MANAGEMENT, "SignIn", "app.example.com")
    assert (row.username, row.access_key_id) == ("alice", None)


def test_remembered_event_times_give_the_same_row() -> None:
    times = EventTimes(size=2)
    for second in range(5):  # more distinct times than the cache holds: evicted ones parse again
        sent = raw(management(eventTime=f"2024-01-01T00:00:0{second}Z"))
        assert index_record(sent, ACCOUNT, times) == index_record(sent, ACCOUNT)
        assert index_record(sent, ACCOUNT, times).time_ms == 1_704_067_200_000 + second * 1000
    with pytest.raises(RecordError, match="ISO-8601"):
        index_record(raw(management(eventTime="soon")), ACCOUNT, times)
