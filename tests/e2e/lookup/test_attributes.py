"""Event history by lookup attribute, over one shared data set (one account, every attribute): each
attribute selects its events, the event element has CloudTrail's shape, and Insights events stand apart."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.support.lookup import BASE, WINDOW, ids, lean, record, send
from tests.support.server import Server, iso


class Seeded:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.creds = server.new_account("lookup-seeded")
        self.ct = server.client("cloudtrail", self.creds)
        self.ec2 = record(
            at=BASE + 10,
            name="RunInstances",
            source="ec2.amazonaws.com",
            read_only=False,
            user="alice",
            key="AKIAALICE",
            resources=[
                {"ARN": "arn:aws:ec2:us-east-1:123456789012:instance/i-1", "type": "AWS::EC2::Instance"},
                {"ARN": "arn:aws:ec2:us-east-1:123456789012:volume/vol-1", "type": "AWS::EC2::Volume"},
            ],
        )
        self.s3 = record(
            at=BASE + 20,
            name="ListBuckets",
            source="s3.amazonaws.com",
            read_only=True,
            user="bob",
            key="AKIABOB",
            resources=[{"ARN": "arn:aws:s3:::bucket-one", "type": "AWS::S3::Bucket", "accountId": "1"}],
        )
        role = record(
            at=BASE + 30, name="AssumeRole", source="sts.amazonaws.com", read_only=None, key="ASIA1"
        )
        role["userIdentity"] = {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/Admin/carol-session",
            "accessKeyId": "ASIA1",
        }
        self.role = role
        # Not management events: event history must never show them.
        self.data = record(at=BASE + 40, name="GetObject", source="s3.amazonaws.com", category="Data")
        self.network = record(at=BASE + 50, name="ListBuckets", category="NetworkActivity", user="bob")
        self.insight = {
            "eventVersion": "1.08",
            "eventTime": iso(BASE + 60),
            "awsRegion": "us-east-1",
            "eventID": str(uuid.uuid4()),
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": "123456789012",
            "sharedEventID": str(uuid.uuid4()),
            "insightDetails": {
                "state": "Start",
                "eventSource": "ec2.amazonaws.com",
                "eventName": "RunInstances",
                "insightType": "ApiCallRateInsight",
            },
            "eventCategory": "Insight",
        }
        send(server, self.creds, [self.ec2, self.s3, role, self.data, self.network, self.insight])


@pytest.fixture(scope="module")
def seeded(server: Server) -> Seeded:
    return Seeded(server)


ATTRIBUTE_CASES = [
    ("EventId", lambda s: s.s3["eventID"], ["s3"]),
    ("EventName", lambda s: "RunInstances", ["ec2"]),
    ("ReadOnly", lambda s: "true", ["s3"]),
    ("ReadOnly", lambda s: "false", ["ec2"]),
    ("Username", lambda s: "bob", ["s3"]),
    ("Username", lambda s: "carol-session", ["role"]),  # an assumed role's session name
    ("ResourceType", lambda s: "AWS::EC2::Volume", ["ec2"]),
    ("ResourceName", lambda s: "arn:aws:s3:::bucket-one", ["s3"]),
    ("EventSource", lambda s: "sts.amazonaws.com", ["role"]),
    ("AccessKeyId", lambda s: "AKIAALICE", ["ec2"]),
    ("EventName", lambda s: "runinstances", []),  # values are case-sensitive
]


@pytest.mark.parametrize(("key", "value", "expected"), ATTRIBUTE_CASES)
def test_each_lookup_attribute_selects_its_events(
    seeded: Seeded, key: str, value: Any, expected: list[str]
) -> None:
    response = seeded.ct.lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value(seeded)}], **WINDOW
    )
    assert ids(response) == [getattr(seeded, name)["eventID"] for name in expected]
    assert "NextToken" not in response


def test_unfiltered_history_shows_management_events_only(seeded: Seeded) -> None:
    response = seeded.ct.lookup_events(**WINDOW)
    assert ids(response) == [seeded.role["eventID"], seeded.s3["eventID"], seeded.ec2["eventID"]]


def test_event_element_has_cloudtrails_shape(seeded: Seeded) -> None:
    response = seeded.ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": seeded.ec2["eventID"]}], **WINDOW
    )
    [event] = response["Events"]
    cloudtrail_event = event.pop("CloudTrailEvent")
    assert json.loads(cloudtrail_event) == seeded.ec2
    assert event == {
        "EventId": seeded.ec2["eventID"],
        "EventName": "RunInstances",
        "ReadOnly": "false",
        "AccessKeyId": "AKIAALICE",
        "EventTime": event["EventTime"],
        "EventSource": "ec2.amazonaws.com",
        "Username": "alice",
        "Resources": [
            {
                "ResourceType": "AWS::EC2::Instance",
                "ResourceName": "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
            },
            {
                "ResourceType": "AWS::EC2::Volume",
                "ResourceName": "arn:aws:ec2:us-east-1:123456789012:volume/vol-1",
            },
        ],
    }
    assert event["EventTime"].timestamp() == BASE + 10
    # Unknown members are omitted, not sent as null: the assumed-role event has no ReadOnly.
    with lean(seeded.server, seeded.creds) as conn:
        raw = conn.cloudtrail(
            "LookupEvents",
            {
                "LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": seeded.role["eventID"]}],
                **WINDOW,
            },
        )
    [role] = raw["Events"]
    assert "ReadOnly" not in role
    assert role["Resources"] == []
    assert role["EventTime"] == BASE + 30  # epoch seconds on the wire


def test_insight_events_only_with_insight_category(seeded: Seeded) -> None:
    response = seeded.ct.lookup_events(EventCategory="insight", **WINDOW)
    assert ids(response) == [seeded.insight["eventID"]]
    [event] = response["Events"]
    assert event["EventName"] == "RunInstances"
    assert event["EventSource"] == "ec2.amazonaws.com"
    assert json.loads(event["CloudTrailEvent"]) == seeded.insight
    for key, value in [("EventName", "RunInstances"), ("EventSource", "ec2.amazonaws.com")]:
        found = seeded.ct.lookup_events(
            EventCategory="insight",
            LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}],
            **WINDOW,
        )
        assert ids(found) == [seeded.insight["eventID"]]
    by_id = seeded.ct.lookup_events(
        EventCategory="insight",
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": seeded.ec2["eventID"]}],
        **WINDOW,
    )
    assert by_id["Events"] == []  # a management event is not an Insights event
