"""Every CloudTrail call the server serves is itself recorded as a management event (issue item 5)."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import pytest

from tests.support.server import Credentials, Server


def _history(
    server: Server, creds: Credentials, name: str, region: str = "us-east-1"
) -> list[dict[str, Any]]:
    """Audit records named ``name`` in the caller's history, waiting briefly for read calls' records
    (reads are audited without waiting for their commit)."""
    client = server.client("cloudtrail", creds, region)
    deadline = time.monotonic() + 5
    while True:
        events = client.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}]
        )["Events"]
        if events or time.monotonic() > deadline:
            return [json.loads(e["CloudTrailEvent"]) for e in events]
        time.sleep(0.1)


def test_create_trail_is_recorded_with_identity_parameters_and_response(
    server: Server, account: Credentials
) -> None:
    server.create_bucket(f"audit-{account.account_id}", account)
    ct = server.client("cloudtrail", account, "eu-west-1")
    ct.create_trail(Name="audited", S3BucketName=f"audit-{account.account_id}", IsMultiRegionTrail=True)

    [record] = _history(server, account, "CreateTrail", "eu-west-1")
    assert record["eventSource"] == "cloudtrail.amazonaws.com"
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventType"] == "AwsApiCall"
    assert record["eventCategory"] == "Management"
    assert record["managementEvent"] is True
    assert record["readOnly"] is False
    assert record["recipientAccountId"] == account.account_id
    assert record["userIdentity"] == {
        "type": "Root",
        "principalId": account.account_id,
        "arn": f"arn:aws:iam::{account.account_id}:root",
        "accountId": account.account_id,
        "accessKeyId": account.access_key_id,
    }
    assert record["requestParameters"] == {
        "name": "audited",
        "s3BucketName": f"audit-{account.account_id}",
        "isMultiRegionTrail": True,
    }
    trail_arn = f"arn:aws:cloudtrail:eu-west-1:{account.account_id}:trail/audited"
    assert record["responseElements"]["trailARN"] == trail_arn
    assert record["resources"] == [
        {"accountId": account.account_id, "type": "AWS::CloudTrail::Trail", "ARN": trail_arn}
    ]
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["userAgent"].startswith("Boto3/")
    assert "errorCode" not in record
    # The history element mirrors the record.
    event = server.client("cloudtrail", account, "eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": record["eventID"]}]
    )["Events"][0]
    assert event["Username"] == "root"
    assert event["AccessKeyId"] == account.access_key_id
    assert event["ReadOnly"] == "false"


def test_failed_call_is_recorded_with_error_code_and_message(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ct.get_trail(Name="no-such-trail")
    assert caught.value.response["Error"]["Code"] == "TrailNotFoundException"

    [record] = _history(server, account, "GetTrail")
    assert record["errorCode"] == "TrailNotFoundException"
    assert record["errorMessage"] == caught.value.response["Error"]["Message"]
    assert record["readOnly"] is True
    assert record["requestParameters"] == {"name": "no-such-trail"}
    assert record["responseElements"] is None


def test_read_calls_are_recorded_without_response_elements(server: Server, account: Credentials) -> None:
    server.client("cloudtrail", account, "ap-south-1").describe_trails(includeShadowTrails=False)
    [record] = _history(server, account, "DescribeTrails", "ap-south-1")
    assert record["readOnly"] is True
    assert record["requestParameters"] == {"includeShadowTrails": False}
    assert record["responseElements"] is None


def test_audit_records_stay_in_the_callers_account(server: Server, account: Credentials) -> None:
    other = server.new_account("audit-other")
    server.client("cloudtrail", other).list_trails()
    assert _history(server, other, "ListTrails")
    # The first account made no ListTrails call: none of the other account's records leak into it.
    assert _history(server, account, "ListTrails") == []


def test_aws_cli_calls_are_recorded_with_the_cli_user_agent(server: Server, account: Credentials) -> None:
    result = server.aws("cloudtrail", "get-trail-status", "--name", "missing", creds=account)
    assert result.returncode == 255
    assert "TrailNotFoundException" in result.stderr
    [record] = _history(server, account, "GetTrailStatus")
    assert record["userAgent"].startswith("aws-cli/1.")
    assert record["errorCode"] == "TrailNotFoundException"
