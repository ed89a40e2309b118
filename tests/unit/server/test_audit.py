"""Self-audit (``server/audit.py``): every call becomes a CloudTrail management record with CloudTrail's
fields in CloudTrail's order, request members in lower camel case at every depth, responseElements only
for a successful change, and the error code and message of a failed call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.context import Call
from opentrail.errors import SerializationException, TrailNotFound
from opentrail.server import audit
from opentrail.store import AccessKey
from tests.support.calls import Env
from tests.support.services import START, open_env

ACCOUNT = "111122223333"
ORDER = [
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path, FixedClock(START + 0.75)):
        env.services.new_id = lambda: "00000000-0000-4000-8000-000000000001"
        yield env


def user_call(env: Env) -> Call:
    key = AccessKey(
        "AKIAUSERKEY123456789",
        "secret",
        ACCOUNT,
        "alice",
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        "AIDAALICE",
        False,
        0,
    )
    return Call(
        services=env.services,
        key=key,
        region="eu-west-1",
        request_id="req-1",
        source_ip="192.0.2.7",
        user_agent="aws-cli/1.0 " + "x" * 2000,
    )


def in_order(record: dict[str, Any]) -> list[str]:
    return [name for name in ORDER if name in record]


def test_a_successful_change_is_recorded_with_its_response(env: Env) -> None:
    call = user_call(env)
    call.touch("AWS::CloudTrail::Trail", f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1")
    params = {"Name": "t1", "S3BucketName": "b", "TagsList": [{"Key": "k", "Value": "v"}]}
    response = {"TrailARN": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1", "IsMultiRegionTrail": False}
    record = audit.record(call, "CreateTrail", params, response, None)
    assert list(record) == in_order(record)
    assert record == {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAALICE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAUSERKEY123456789",
            "userName": "alice",
        },
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "CreateTrail",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "192.0.2.7",
        "userAgent": call.user_agent[:1024],
        "requestParameters": {"name": "t1", "s3BucketName": "b", "tagsList": [{"key": "k", "value": "v"}]},
        "responseElements": {
            "trailARN": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1",
            "isMultiRegionTrail": False,
        },
        "requestID": "req-1",
        "eventID": "00000000-0000-4000-8000-000000000001",
        "readOnly": False,
        "resources": [
            {
                "accountId": ACCOUNT,
                "type": "AWS::CloudTrail::Trail",
                "ARN": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1",
            }
        ],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def test_a_failed_call_carries_its_error_and_no_response(env: Env) -> None:
    error = TrailNotFound("Unknown trail: " + "t" * 2000)
    record = audit.record(env.call(ACCOUNT), "UpdateTrail", {"Name": "t1"}, {"ignored": 1}, error)
    assert list(record) == in_order(record)
    assert record["errorCode"] == "TrailNotFoundException"
    assert record["errorMessage"] == error.message[:1024]
    assert record["responseElements"] is None
    assert record["requestParameters"] == {"name": "t1"}
    assert "resources" not in record  # nothing was touched


def test_reads_record_no_response_elements(env: Env) -> None:
    record = audit.record(env.call(ACCOUNT), "DescribeTrails", {}, {"trailList": [{"Name": "t1"}]}, None)
    assert (record["readOnly"], record["responseElements"], record["requestParameters"]) == (True, None, None)
    assert "errorCode" not in record
    assert record["userIdentity"]["type"] == "Root"


@pytest.mark.parametrize(
    ("operation", "read_only"),
    [
        ("GetTrail", True),
        ("ListTags", True),
        ("DescribeTrails", True),
        ("LookupEvents", True),
        ("CreateTrail", False),
        ("PutEventSelectors", False),
        ("StartLogging", False),
        ("AddTags", False),
    ],
)
def test_reads_are_get_list_describe_and_lookup(operation: str, read_only: bool) -> None:
    assert audit.is_read_only(operation) is read_only


def test_lower_camel_reaches_every_depth() -> None:
    assert audit.lower_camel(
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "x", "Equals": ["A"]}]}]}
    ) == {"advancedEventSelectors": [{"fieldSelectors": [{"field": "x", "equals": ["A"]}]}]}
    # Values are kept as they are: only member names change.
    assert audit.lower_camel({"trailNameList": ["MyTrail"], "": 1}) == {"trailNameList": ["MyTrail"], "": 1}


def test_an_organizations_call_has_its_own_source(env: Env) -> None:
    record = audit.record(env.call(ACCOUNT), "ListAccounts", {}, None, None, "organizations.amazonaws.com")
    assert record["eventSource"] == "organizations.amazonaws.com"


def test_the_audit_row_is_the_callers(env: Env) -> None:
    row = audit.audit_row(env.call(ACCOUNT, "ap-south-1"), "StopLogging", {"Name": "t1"}, {}, None)
    assert (row.account, row.region, row.event_name, row.read_only) == (
        ACCOUNT,
        "ap-south-1",
        "StopLogging",
        False,
    )
    assert row.event_id == "00000000-0000-4000-8000-000000000001"
    assert json.loads(row.record)["requestParameters"] == {"name": "t1"}


# -- recorded or refused: members fitted to CloudTrail's sizes before the call runs ---------------------


def test_members_up_to_100_kb_are_kept_and_larger_ones_omitted_as_cloudtrail_does() -> None:
    small = {"padding": "a" * 1000}
    assert audit.fitted("requestParameters", small) is small
    large = {"padding": "a" * (audit.MAX_MEMBER_BYTES + 1)}
    size = len(json.dumps(large, separators=(",", ":")))
    assert audit.fitted("responseElements", large) == {
        "reason": "responseElements too large",
        "omitted": True,
        "originalSize": size,
    }
    assert audit.fitted("requestParameters", {}) is None


def test_an_entry_keeps_the_record_under_256_kb_whatever_the_sizes(env: Env) -> None:
    huge = {"Name": "t1", "Padding": "p" * 300_000}
    entry = audit.Entry.prepare(env.call(ACCOUNT), "CreateTrail", huge, audit.EVENT_SOURCE)
    row = entry.row({"Name": "t1", "Echo": "e" * 300_000}, None)
    record = json.loads(row.record)
    assert record["requestParameters"]["reason"] == "requestParameters too large"
    assert record["responseElements"]["reason"] == "responseElements too large"
    assert list(record) == [k for k in ORDER if k in record]


def test_parameters_that_cannot_be_recorded_refuse_the_call_before_it_runs(env: Env) -> None:
    with pytest.raises(SerializationException) as caught:
        audit.Entry.prepare(env.call(ACCOUNT), "CreateTrail", {"Name": object()}, audit.EVENT_SOURCE)
    assert "cannot be recorded" in caught.value.message
    deep: Any = "leaf"
    for _ in range(5000):
        deep = {"A": deep}
    with pytest.raises(SerializationException):
        audit.Entry.prepare(env.call(ACCOUNT), "CreateTrail", deep, audit.EVENT_SOURCE)


def test_a_refused_entry_is_still_a_record_of_the_call(env: Env) -> None:
    entry = audit.Entry.unrecordable(env.call(ACCOUNT), "CreateTrail", audit.EVENT_SOURCE)
    record = json.loads(entry.row(None, SerializationException("bad")).record)
    assert (record["errorCode"], record["requestParameters"]) == ("SerializationException", None)
