"""Every bad LookupEvents parameter is named in its error, and boto3 maps each error code to its
modelled exception."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.lookup import BASE, lean, lookup_error
from tests.support.server import Credentials, Server

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
