"""LookupEvents end to end: the real server, boto3, the AWS CLI v1 and ``opentrail lookup-events``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from tests.support.server import Credentials, Server, iso, make_server, server_on_backend

BASE = 1_704_067_200  # 2024-01-01T00:00:00Z: history replayed from the past, far from the audit events
WINDOW = {"StartTime": BASE - 86_400, "EndTime": BASE + 86_400}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """This module's own server, on each store backend: LookupEvents end to end on both."""
    yield from server_on_backend(request)


def record(
    *,
    at: float = BASE,
    name: str = "RunInstances",
    source: str = "ec2.amazonaws.com",
    region: str = "us-east-1",
    read_only: bool | None = False,
    user: str = "alice",
    key: str = "AKIAALICE",
    resources: list[dict[str, str]] | None = None,
    category: str = "Management",
    **extra: Any,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::123456789012:user/{user}",
            "accountId": "123456789012",
            "accessKeyId": key,
            "userName": user,
        },
        "eventTime": iso(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "test",
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "managementEvent": category == "Management",
        "recipientAccountId": "123456789012",
        "eventCategory": category,
    }
    if read_only is not None:
        rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec.update(extra)
    return rec


def lean(server: Server, creds: Credentials, region: str = "us-east-1") -> Client:
    return Client(server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None), region)


def send(server: Server, creds: Credentials, records: list[dict[str, Any]] | list[str]) -> None:
    """Ingest records through the native endpoint; strings are sent as the exact bytes given."""
    raw = [r if isinstance(r, str) else json.dumps(r) for r in records]
    body = ('{"Records": [' + ",".join(raw) + "]}").encode()
    with lean(server, creds) as conn:
        result = conn.ingest_records(body)
    assert result["failed"] == [], result
    assert result["accepted"] == len(records)


def lookup_error(conn: Client, params: dict[str, Any]) -> str:
    """Send raw parameters (botocore would refuse some client-side) and return the error text."""
    with pytest.raises(RemoteError) as info:
        conn.cloudtrail("LookupEvents", params)
    assert info.value.status == 400
    return f"{info.value.code}: {info.value.message}"


def ids(response: dict[str, Any]) -> list[str]:
    return [event["EventId"] for event in response["Events"]]


def all_pages(ct: Any, **params: Any) -> list[dict[str, Any]]:
    pages = list(ct.get_paginator("lookup_events").paginate(**params))
    assert "NextToken" not in pages[-1]
    return [event for page in pages for event in page["Events"]]


# -- a shared data set: one account, every attribute ---------------------------------------------------


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


# -- time window and order -----------------------------------------------------------------------------


def test_time_bounds_are_inclusive_and_order_is_newest_first_with_ties(
    server: Server, account: Credentials
) -> None:
    times = [BASE - 1, BASE, BASE + 1, BASE + 2, BASE + 3]
    singles = [record(at=t, name=f"At{t - BASE}") for t in times]
    # Three events in the same second, in one batch: later in the batch is newer.
    ties = [record(at=BASE + 1, name=f"Tie{i}") for i in range(3)]
    send(server, account, [singles[3], singles[0], singles[4]])
    send(server, account, [singles[2], *ties, singles[1]])
    ct = server.client("cloudtrail", account)

    def names(**params: Any) -> list[str]:
        return [e["EventName"] for e in ct.lookup_events(**params)["Events"]]

    assert names(StartTime=BASE, EndTime=BASE + 2) == ["At2", "Tie2", "Tie1", "Tie0", "At1", "At0"]
    assert names(StartTime=BASE + 3, EndTime=BASE + 3) == ["At3"]  # start == end: one instant
    # Float bounds: a millisecond past a second excludes it, a millisecond short of one too.
    assert names(StartTime=BASE + 0.001, EndTime=BASE + 1.999) == ["Tie2", "Tie1", "Tie0", "At1"]
    assert names(StartTime=BASE - 10, EndTime=BASE + 10) == [
        "At3", "At2", "Tie2", "Tie1", "Tie0", "At1", "At0", "At-1"
    ]  # fmt: skip
    # Ties stay in order across page boundaries too.
    paged = all_pages(ct, StartTime=BASE, EndTime=BASE + 2, PaginationConfig={"PageSize": 2})
    assert [e["EventName"] for e in paged] == ["At2", "Tie2", "Tie1", "Tie0", "At1", "At0"]


def test_default_window_and_old_explicit_start(server: Server, account: Credentials) -> None:
    now = time.time()
    recent = record(at=now - 3600, name="Recent")
    old = record(at=now - 200 * 86_400, name="Replayed")  # older than the 90-day retention window
    send(server, account, [recent, old])
    ct = server.client("cloudtrail", account)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]
    # Without StartTime the window is the last 90 days.
    assert [e["EventName"] for e in ct.lookup_events(LookupAttributes=source)["Events"]] == ["Recent"]
    # An explicit old StartTime reaches replayed history.
    found = ct.lookup_events(LookupAttributes=source, StartTime=now - 365 * 86_400)
    assert [e["EventName"] for e in found["Events"]] == ["Recent", "Replayed"]
    # An EndTime in the past moves the default window back with it.
    found = ct.lookup_events(LookupAttributes=source, EndTime=now - 199 * 86_400)
    assert [e["EventName"] for e in found["Events"]] == ["Replayed"]


# -- pagination ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def many(server: Server) -> tuple[Credentials, list[str]]:
    """55 events one second apart; returns the account and their ids newest first."""
    creds = server.new_account("lookup-many")
    records = [record(at=BASE + i, name=f"Op{i:02d}", source="paging.example.com") for i in range(55)]
    send(server, creds, records)
    return creds, [r["eventID"] for r in reversed(records)]


def test_max_results_default_bounds_and_last_page(
    server: Server, many: tuple[Credentials, list[str]]
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    first = ct.lookup_events(**WINDOW)
    assert ids(first) == expected[:50]
    assert first["NextToken"]
    rest = ct.lookup_events(NextToken=first["NextToken"], **WINDOW)
    assert ids(rest) == expected[50:]
    assert "NextToken" not in rest
    assert ids(ct.lookup_events(MaxResults=1, **WINDOW)) == expected[:1]
    assert ids(ct.lookup_events(MaxResults=50, **WINDOW)) == expected[:50]
    with pytest.raises(ct.exceptions.InvalidMaxResultsException, match="between 1 and 50, got 51"):
        ct.lookup_events(MaxResults=51, **WINDOW)
    with lean(server, creds) as conn:
        assert "got 0" in lookup_error(conn, {"MaxResults": 0})
    # Exactly a multiple of the page size: the last full page carries no token.
    exact = ct.lookup_events(MaxResults=5, StartTime=BASE + 50, EndTime=BASE + 54)
    assert ids(exact) == expected[:5]
    assert "NextToken" not in exact


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_boto3_paginator_yields_every_event_once(
    server: Server, many: tuple[Credentials, list[str]], page_size: int
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "paging.example.com"}]
    events = all_pages(ct, LookupAttributes=source, **WINDOW, PaginationConfig={"PageSize": page_size})
    assert [e["EventId"] for e in events] == expected
    capped = ct.get_paginator("lookup_events").paginate(
        **WINDOW, PaginationConfig={"PageSize": 7, "MaxItems": 10}
    )
    assert [e["EventId"] for e in capped.build_full_result()["Events"]] == expected[:10]


def test_aws_cli_auto_paginates(server: Server, many: tuple[Credentials, list[str]]) -> None:
    creds, expected = many
    args = ["cloudtrail", "lookup-events", "--start-time", iso(BASE - 60), "--end-time", str(BASE + 3600)]
    result = server.aws(
        *args,
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=paging.example.com",
        "--page-size",
        "8",
        creds=creds,
    )
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["Events"]
    assert [e["EventId"] for e in events] == expected
    assert isinstance(events[0]["CloudTrailEvent"], str)
    assert events[0]["EventTime"] == BASE + 54  # the CLI prints wire timestamps: epoch seconds
    capped = server.aws(*args, "--max-items", "12", "--page-size", "5", creds=creds)
    assert capped.returncode == 0, capped.stderr
    output = json.loads(capped.stdout)
    assert [e["EventId"] for e in output["Events"]] == expected[:12]
    assert output["NextToken"]  # the CLI's own resume token
    error = server.aws(*args, "--max-results", "51", creds=creds)
    assert error.returncode == 255
    assert "InvalidMaxResultsException" in error.stderr


def test_next_token_tampered_or_reused_with_other_parameters(
    server: Server, many: tuple[Credentials, list[str]]
) -> None:
    creds, expected = many
    ct = server.client("cloudtrail", creds)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "paging.example.com"}]
    params: dict[str, Any] = {"LookupAttributes": source, "MaxResults": 3, **WINDOW}
    first = ct.lookup_events(**params)
    token = first["NextToken"]
    # The same parameters may fetch the same page again.
    assert ids(ct.lookup_events(NextToken=token, **params)) == expected[3:6]
    assert ids(ct.lookup_events(NextToken=token, **params)) == expected[3:6]
    other_attribute = [{"AttributeKey": "EventName", "AttributeValue": "Op10"}]
    variants = [
        {**params, "MaxResults": 4},
        {**params, "LookupAttributes": other_attribute},
        {**params, "LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "other"}]},
        {k: v for k, v in params.items() if k != "LookupAttributes"},
        {**params, "StartTime": BASE - 86_399},
        {k: v for k, v in params.items() if k != "EndTime"},
        {**params, "EventCategory": "insight", "LookupAttributes": other_attribute},
    ]
    for variant in variants:
        with pytest.raises(ct.exceptions.InvalidNextTokenException, match="different parameters"):
            ct.lookup_events(NextToken=token, **variant)
    for bad in [token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", token[1:], "garbage", "a.b"]:
        with pytest.raises(ct.exceptions.InvalidNextTokenException, match="not a token this server issued"):
            ct.lookup_events(NextToken=bad, **params)
    # The same token in another region or another account is another query.
    east2 = server.client("cloudtrail", creds, region="us-east-2")
    with pytest.raises(east2.exceptions.InvalidNextTokenException):
        east2.lookup_events(NextToken=token, **params)
    stranger = server.client("cloudtrail", server.root)
    with pytest.raises(stranger.exceptions.InvalidNextTokenException):
        stranger.lookup_events(NextToken=token, **params)
    # An int and a float naming the same second are the same query.
    same = ct.lookup_events(NextToken=token, **{**params, "StartTime": float(BASE - 86_400)})
    assert ids(same) == expected[3:6]


# -- errors --------------------------------------------------------------------------------------------


ERROR_CASES: list[tuple[dict[str, Any], str]] = [
    (
        {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "A"}] * 2},
        "InvalidLookupAttributesException: LookupAttributes can contain only one item, got 2",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "Region", "AttributeValue": "x"}]},
        "InvalidLookupAttributesException: AttributeKey 'Region' is not a lookup attribute",
    ),
    (
        {"LookupAttributes": [{"AttributeValue": "x"}]},
        "InvalidLookupAttributesException: AttributeKey is required",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "EventName"}]},
        "InvalidLookupAttributesException: AttributeValue is required",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": ""}]},
        "InvalidLookupAttributesException: AttributeValue for EventName must be 1 to 2000",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x" * 2001}]},
        "InvalidLookupAttributesException: AttributeValue for EventName must be 1 to 2000 characters long "
        "('_', ' ', ',' and newline count as two), got 2001",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": "a_" * 667}]},
        "InvalidLookupAttributesException: AttributeValue for ResourceName must be 1 to 2000",
    ),
    (
        {"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "True"}]},
        "InvalidLookupAttributesException: AttributeValue for ReadOnly must be 'true' or 'false', got 'True'",
    ),
    (
        {
            "EventCategory": "insight",
            "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "a"}],
        },
        "InvalidLookupAttributesException: AttributeKey Username cannot filter Insights events",
    ),
    ({"EventCategory": "Insight"}, "InvalidEventCategoryException: EventCategory must be 'insight'"),
    ({"EventCategory": "management"}, "InvalidEventCategoryException"),
    ({"EventCategory": ""}, "InvalidEventCategoryException"),
    (
        {"StartTime": BASE + 1, "EndTime": BASE},
        f"InvalidTimeRangeException: StartTime {BASE + 1} is after EndTime {BASE}",
    ),
    ({"StartTime": time.time() + 86_400}, "InvalidTimeRangeException: StartTime"),  # after default end, now
    ({"StartTime": -1}, "InvalidTimeRangeException: StartTime -1 is outside the range of possible values"),
    ({"EndTime": -0.5}, "InvalidTimeRangeException: EndTime -0.5 is outside the range"),
    ({"EndTime": 253_402_300_800}, "InvalidTimeRangeException: EndTime 253402300800 is outside the range"),
    (
        {"StartTime": 10**30},
        "InvalidTimeRangeException: StartTime 1000000000000000000000000000000 is outside",
    ),
    ({"StartTime": "0001-01-01T00:00:00Z"}, "InvalidTimeRangeException"),
    ({"MaxResults": 0}, "InvalidMaxResultsException: MaxResults must be between 1 and 50, got 0"),
    ({"MaxResults": -3}, "InvalidMaxResultsException"),
    ({"MaxResults": 1000}, "InvalidMaxResultsException: MaxResults must be between 1 and 50, got 1000"),
    ({"NextToken": ""}, "InvalidNextTokenException"),
    ({"NextToken": "x" * 1001}, "InvalidNextTokenException"),
    # Wrong JSON types are malformed requests, as in every JSON 1.1 service.
    ({"MaxResults": "5"}, "SerializationException: MaxResults must be an integer"),
    ({"StartTime": True}, "SerializationException"),
    ({"StartTime": "yesterday"}, "SerializationException"),
    ({"LookupAttributes": {"AttributeKey": "EventName"}}, "SerializationException"),
    ({"LookupAttributes": ["EventName"]}, "SerializationException"),
    ({"LookupAttributes": [{"AttributeKey": 3, "AttributeValue": "x"}]}, "SerializationException"),
    ({"NextToken": 12}, "SerializationException"),
]


def test_every_bad_parameter_is_named(server: Server, account: Credentials) -> None:
    with lean(server, account) as conn:
        for params, expected in ERROR_CASES:
            assert lookup_error(conn, params).startswith(expected), params


def test_boto3_maps_errors_to_modelled_exceptions(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account)
    from datetime import UTC, datetime

    later, earlier = datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ct.exceptions.InvalidTimeRangeException, match="is after EndTime"):
        ct.lookup_events(StartTime=later, EndTime=earlier)
    with pytest.raises(ct.exceptions.InvalidLookupAttributesException):
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "Bogus", "AttributeValue": "x"}])
    with pytest.raises(ct.exceptions.InvalidEventCategoryException):
        ct.lookup_events(EventCategory="data")
    with pytest.raises(ct.exceptions.InvalidNextTokenException):
        ct.lookup_events(NextToken="not-a-token")
    # Boundary values are accepted: 2000 characters, and 1000 double-width ones.
    for value in ["x" * 2000, "_" * 1000, "a b,c\nd"]:
        response = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": value}]
        )
        assert response["Events"] == []
    assert ct.lookup_events(StartTime=0, EndTime=253_402_300_799, MaxResults=1)["Events"] is not None


# -- fidelity ------------------------------------------------------------------------------------------


def test_cloudtrail_event_is_the_exact_bytes_sent(server: Server, account: Credentials) -> None:
    event_id = str(uuid.uuid4())
    # Odd but valid JSON: whitespace, escapes, unknown fields, huge and exotic numbers, nulls, unicode.
    raw = (
        '{ "eventVersion" : "1.99",\n  "eventTime":"2024-01-01T00:00:07Z", "eventSource":"odd.example.com",'
        ' "eventName":"Caf\\u00e9\\/Op", "awsRegion":"us-east-1", '
        f'"eventID":"{event_id}", "readOnly":true, '
        '"userIdentity":{"type":"IAMUser","userName":"\u00fc\u0161er \U0001f600","accessKeyId":"AKIAODD",'
        '"futureIdentityField":{"nested":[1,2.50,-0.0,1E+2,12345678901234567890123]}},'
        '"resources":[{"ARN":"arn:aws:odd:::thing","type":"AWS::Odd::Thing","extra":null},{"type":"AWS::Odd::NoArn"}],'
        '"requestParameters":null,"responseElements":{"a":"\\"quoted\\"\\n\\t"},'
        '"aBrandNewTopLevelField":{"x":[true,false,null,"",{}]},"eventCategory":"Management"   }'
    )
    send(server, account, [raw])
    ct = server.client("cloudtrail", account)
    [event] = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}], **WINDOW
    )["Events"]
    assert event["CloudTrailEvent"] == raw
    assert json.loads(event["CloudTrailEvent"]) == json.loads(raw)
    assert event["EventName"] == "Caf\u00e9/Op"
    assert event["Username"] == "\u00fc\u0161er \U0001f600"
    assert event["ReadOnly"] == "true"
    assert event["Resources"] == [
        {"ResourceType": "AWS::Odd::Thing", "ResourceName": "arn:aws:odd:::thing"},
        {"ResourceType": "AWS::Odd::NoArn"},
    ]
    # The unicode user name is also a lookup key.
    by_user = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "\u00fc\u0161er \U0001f600"}],
        **WINDOW,
    )
    assert ids(by_user) == [event_id]


# -- self-audit and isolation -------------------------------------------------------------------------


def audit_events(ct: Any, name: str, expect: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Audit records of ``name`` calls; reads are audited asynchronously, so poll briefly."""
    deadline = time.monotonic() + timeout
    while True:
        response = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        found = [json.loads(e["CloudTrailEvent"]) for e in response["Events"]]
        found = [r for r in found if r["eventSource"] == "cloudtrail.amazonaws.com"]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_lookups_are_audited_with_the_callers_identity(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account)
    ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "nobody"}], MaxResults=7
    )
    with pytest.raises(ct.exceptions.InvalidMaxResultsException):
        ct.lookup_events(MaxResults=99)
    records = audit_events(ct, "LookupEvents", expect=2)
    assert len(records) >= 2
    failed = next(r for r in records if "errorCode" in r)
    good = next(r for r in records if "errorCode" not in r and r["requestParameters"].get("maxResults") == 7)
    for rec in (failed, good):
        assert rec["eventSource"] == "cloudtrail.amazonaws.com"
        assert rec["readOnly"] is True
        assert rec["awsRegion"] == "us-east-1"
        assert rec["recipientAccountId"] == account.account_id
        assert rec["userIdentity"]["accessKeyId"] == account.access_key_id
        assert rec["userIdentity"]["accountId"] == account.account_id
        assert rec["eventCategory"] == "Management"
    assert failed["errorCode"] == "InvalidMaxResultsException"
    assert "got 99" in failed["errorMessage"]
    assert good["requestParameters"]["lookupAttributes"] == [
        {"attributeKey": "Username", "attributeValue": "nobody"}
    ]
    # The element of an audit event names the caller.
    response = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": account.access_key_id}]
    )
    assert response["Events"]
    assert {e["EventSource"] for e in response["Events"]} == {"cloudtrail.amazonaws.com"}
    assert {e["Username"] for e in response["Events"]} == {"root"}


def test_accounts_and_regions_are_isolated(server: Server, account: Credentials) -> None:
    other = server.new_account("lookup-other")
    shared_id = str(uuid.uuid4())
    mine = record(at=BASE, name="Mine", eventID=shared_id)
    theirs = record(at=BASE, name="Theirs", eventID=shared_id)  # the same eventID in another account
    european = record(at=BASE + 1, name="European", region="eu-west-1")
    send(server, account, [mine, european])
    send(server, other, [theirs])
    by_id = [{"AttributeKey": "EventId", "AttributeValue": shared_id}]
    for creds, expected in [(account, "Mine"), (other, "Theirs")]:
        ct = server.client("cloudtrail", creds)
        assert [e["EventName"] for e in ct.lookup_events(**WINDOW)["Events"]] == [expected]
        assert [e["EventName"] for e in ct.lookup_events(LookupAttributes=by_id, **WINDOW)["Events"]] == [
            expected
        ]
    eu = server.client("cloudtrail", account, region="eu-west-1")
    assert [e["EventName"] for e in eu.lookup_events(**WINDOW)["Events"]] == ["European"]
    assert server.client("cloudtrail", other, region="eu-west-1").lookup_events(**WINDOW)["Events"] == []
    assert server.client("cloudtrail", account, region="ap-south-1").lookup_events(**WINDOW)["Events"] == []


# -- throttling ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def throttled() -> Iterator[Server]:
    yield from make_server(env={"OPENTRAIL_LOOKUP_RATE": "1"})


def test_rate_limit_answers_throttling_that_clients_retry(throttled: Server) -> None:
    ct = throttled.client("cloudtrail")
    west = throttled.client("cloudtrail", region="eu-west-1")
    stranger = throttled.client("cloudtrail", throttled.new_account())
    error: dict[str, Any] = {}
    for _ in range(5):  # a burst: the second call normally finds the bucket empty
        try:
            ct.lookup_events(MaxResults=1)
        except botocore.exceptions.ClientError as exc:
            error = exc.response  # type: ignore[assignment]
            break
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "1 calls per second per account and region" in error["Error"]["Message"]
    # Another region and another account have buckets of their own.
    west.lookup_events(MaxResults=1)
    stranger.lookup_events(MaxResults=1)
    # boto3's default (legacy) retry mode retries a 400 ThrottlingException and gets through.
    assert throttled.root is not None
    retrying = boto3.client(
        "cloudtrail",
        endpoint_url=throttled.endpoint,
        region_name="us-east-1",
        aws_access_key_id=throttled.root.access_key_id,
        aws_secret_access_key=throttled.root.secret,
        config=botocore.config.Config(retries={"max_attempts": 10, "mode": "legacy"}),
    )
    started = time.monotonic()
    for _ in range(3):
        response = retrying.lookup_events(MaxResults=1)
        assert "Events" in response
    assert time.monotonic() - started >= 1.0  # three calls at one per second needed at least one wait


# -- opentrail lookup-events ---------------------------------------------------------------------------


def credentials_dir(tmp_path: Path, creds: Credentials) -> str:
    """A data directory holding only ``credentials``, so the CLI signs as ``creds``."""
    (tmp_path / "credentials").write_text(
        f"[default]\naws_access_key_id = {creds.access_key_id}\naws_secret_access_key = {creds.secret}\n"
    )
    return str(tmp_path)


def test_cli_json_output_paginates_like_the_aws_cli(
    server: Server, many: tuple[Credentials, list[str]], tmp_path: Path
) -> None:
    creds, expected = many
    data_dir = credentials_dir(tmp_path, creds)
    window = ["--start-time", iso(BASE - 60), "--end-time", str(BASE + 3600)]
    result = server.cli("lookup-events", "--data-dir", data_dir, *window, "--output", "json")
    events = json.loads(result.stdout)["Events"]
    assert [e["EventId"] for e in events] == expected  # 55 events: two pages
    assert events[0]["EventTime"] == BASE + 54
    assert json.loads(events[0]["CloudTrailEvent"])["eventID"] == expected[0]
    capped = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        *window,
        "--max-items",
        "3",
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=paging.example.com",
        "--output",
        "json",
    )
    assert [e["EventId"] for e in json.loads(capped.stdout)["Events"]] == expected[:3]


def test_cli_table_output(server: Server, account: Credentials, tmp_path: Path) -> None:
    tricky = record(
        at=BASE + 5,
        name="[bold red]NotMarkup[/]",
        user="dave",
        resources=[{"ARN": "arn:aws:s3:::a,b", "type": "AWS::S3::Bucket"}],
    )
    plain = record(at=BASE + 4, name="Plain", region="eu-west-1")
    send(server, account, [tricky, plain])
    data_dir = credentials_dir(tmp_path, account)
    result = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        "--start-time",
        "2023-12-31",
        "--lookup-attributes",
        'AttributeKey=ResourceName,AttributeValue="arn:aws:s3:::a,b"',
    )
    out = result.stdout
    assert tricky["eventID"] in out
    assert "[bold red]NotMarkup[/]" in out
    assert "2024-01-01T00:00:05Z" in out
    assert "AWS::S3::Bucket arn:aws:s3:::a,b" in out
    assert "dave" in out
    assert "Plain" not in out
    assert "1 event" in result.stderr
    regional = server.cli(
        "lookup-events", "--data-dir", data_dir, "--start-time", "2023-12-31", "--region", "eu-west-1"
    )
    assert plain["eventID"] in regional.stdout
    assert tricky["eventID"] not in regional.stdout


def test_cli_reports_bad_input(server: Server, tmp_path: Path) -> None:
    assert server.root is not None
    data_dir = credentials_dir(tmp_path, server.root)
    bad = server.cli(
        "lookup-events", "--data-dir", data_dir, "--lookup-attributes", "Key=EventName", check=False
    )
    assert bad.returncode == 2
    assert "AttributeKey=KEY,AttributeValue=VALUE" in bad.stderr
    backwards = server.cli(
        "lookup-events",
        "--data-dir",
        data_dir,
        "--start-time",
        "2024-01-02",
        "--end-time",
        "2024-01-01",
        check=False,
    )
    assert backwards.returncode == 2
    assert "InvalidTimeRangeException" in backwards.stderr
    nan = server.cli("lookup-events", "--data-dir", data_dir, "--end-time", "nan", check=False)
    assert nan.returncode == 2
    assert "finite" in nan.stderr


def test_invalid_utf8_in_an_unread_field_never_breaks_history(server: Server, account: Credentials) -> None:
    good = record(at=BASE + 1, name="Good")
    bad = json.dumps(record(at=BASE, name="Bad", futureField="PLACEHOLDER")).encode()
    bad = bad.replace(b"PLACEHOLDER", b"\xff\xfe")  # not UTF-8, in a field ingest does not read
    body = b'{"Records": [' + json.dumps(good).encode() + b"," + bad + b"]}"
    with lean(server, account) as conn:
        result = conn.ingest_records(body)
        assert result["accepted"] + len(result["failed"]) == 2
        response = conn.cloudtrail("LookupEvents", WINDOW)
    names = [e["EventName"] for e in response["Events"]]
    if result["failed"]:  # ingest refused the record: only the good one is there
        assert names == ["Good"]
    else:  # stored: the page still answers, the bad bytes shown as U+FFFD
        assert names == ["Good", "Bad"]
        assert json.loads(response["Events"][1]["CloudTrailEvent"])["futureField"] == "\ufffd\ufffd"
