"""UpdateTrail through boto3: every member changes, empty strings turn destinations off, what it does
not name is kept, and its errors leave the trail as it was."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import Server
from tests.support.trails import KEY_ID, LOG_GROUP, ROLE, Tenant, body, expect_error, unique

RESPONSE_MEMBERS = {
    "Name",
    "S3BucketName",
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "TrailARN",
    "LogFileValidationEnabled",
    "IsOrganizationTrail",
}


def test_update_trail_changes_every_member(server: Server, shared: Tenant) -> None:
    client = shared.client()
    account = shared.account_id
    shared.trail("upd")
    other_bucket = unique("trails-b")
    server.create_bucket(other_bucket, shared.creds)
    updated = body(
        client.update_trail(
            Name="upd",
            S3BucketName=other_bucket,
            S3KeyPrefix="p",
            SnsTopicName="topic",
            IncludeGlobalServiceEvents=True,
            IsMultiRegionTrail=True,
            EnableLogFileValidation=True,
            CloudWatchLogsLogGroupArn=LOG_GROUP.format(account=account),
            CloudWatchLogsRoleArn=ROLE.format(account=account),
            KmsKeyId=KEY_ID,
        )
    )
    assert updated == {
        "Name": "upd",
        "S3BucketName": other_bucket,
        "S3KeyPrefix": "p",
        "SnsTopicName": "topic",
        "SnsTopicARN": f"arn:aws:sns:us-east-1:{account}:topic",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "TrailARN": shared.arn("upd"),
        "LogFileValidationEnabled": True,
        "CloudWatchLogsLogGroupArn": LOG_GROUP.format(account=account),
        "CloudWatchLogsRoleArn": ROLE.format(account=account),
        "KmsKeyId": f"arn:aws:kms:us-east-1:{account}:key/{KEY_ID}",
        "IsOrganizationTrail": False,
    }
    # Empty strings turn the optional destinations off; absent members keep their values.
    cleared = body(
        client.update_trail(
            Name=shared.arn("upd"),
            S3KeyPrefix="",
            SnsTopicName="",
            KmsKeyId="",
            CloudWatchLogsLogGroupArn="",
            CloudWatchLogsRoleArn="",
            IsMultiRegionTrail=False,
            IncludeGlobalServiceEvents=False,
        )
    )
    assert cleared == {
        "Name": "upd",
        "S3BucketName": other_bucket,
        "IncludeGlobalServiceEvents": False,
        "IsMultiRegionTrail": False,
        "TrailARN": shared.arn("upd"),
        "LogFileValidationEnabled": True,
        "IsOrganizationTrail": False,
    }
    assert set(client.get_trail(Name="upd")["Trail"]) == RESPONSE_MEMBERS | {
        "HomeRegion",
        "HasCustomEventSelectors",
        "HasInsightSelectors",
    }


def test_update_trail_keeps_selectors_tags_and_logging(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("keep", TagsList=[{"Key": "a", "Value": "1"}])
    client.put_event_selectors(TrailName="keep", EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    client.start_logging(Name="keep")
    client.update_trail(Name="keep", S3KeyPrefix="moved")
    assert client.get_trail_status(Name="keep")["IsLogging"] is True
    assert client.get_event_selectors(TrailName="keep")["EventSelectors"][0]["ReadWriteType"] == "WriteOnly"
    tags = client.list_tags(ResourceIdList=[shared.arn("keep")])["ResourceTagList"][0]["TagsList"]
    assert tags == [{"Key": "a", "Value": "1"}]


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"Name": "missing-trail"}, "TrailNotFoundException"),
        ({"Name": "bad--name"}, "InvalidTrailNameException"),
        ({"Name": "arn:aws:cloudtrail:us-east-1:123:trail/x"}, "CloudTrailARNInvalidException"),
        ({"Name": "arn:aws:cloudtrail:us-east-1:123456789012:channel/x"}, "CloudTrailARNInvalidException"),
        ({"S3BucketName": "no-such-bucket-opentrail"}, "S3BucketDoesNotExistException"),
        ({"S3KeyPrefix": "x" * 201}, "InvalidS3PrefixException"),
        ({"KmsKeyId": "alias/aws/s3"}, "InvalidKmsKeyIdException"),
        ({"IsOrganizationTrail": True}, "OrganizationsNotInUseException"),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
        ),
    ],
)
def test_update_trail_errors(shared: Tenant, members: dict[str, Any], code: str) -> None:
    shared.trail("target")
    expect_error(code, shared.client().update_trail, **{"Name": "target", **members})
    assert body(shared.client().get_trail(Name="target"))["Trail"]["S3BucketName"] == shared.bucket


def test_insufficient_bucket_policy_for_another_accounts_bucket(server: Server, shared: Tenant) -> None:
    other = Tenant.create(server)
    expect_error(
        "InsufficientS3BucketPolicyException",
        shared.client().create_trail,
        Name="trail-1",
        S3BucketName=other.bucket,
    )
    shared.trail("trail-2")
    expect_error(
        "InsufficientS3BucketPolicyException",
        shared.client().update_trail,
        Name="trail-2",
        S3BucketName=other.bucket,
    )
