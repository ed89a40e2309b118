"""Trail management through the real AWS CLI v1: exit codes, wire-format output and error messages."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.support.server import Server
from tests.support.trails import Tenant


@pytest.fixture(scope="module")
def tenant(server: Server) -> Tenant:
    return Tenant.create(server)


def aws(tenant: Tenant, *args: str, region: str = "us-east-1") -> subprocess.CompletedProcess[str]:
    return tenant.server.aws("cloudtrail", *args, creds=tenant.creds, region=region)


def ok(tenant: Tenant, *args: str, region: str = "us-east-1") -> Any:
    result = aws(tenant, *args, region=region)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def fails(tenant: Tenant, code: str, operation: str, *args: str) -> str:
    result = aws(tenant, *args)
    assert result.returncode == 255, (result.stdout, result.stderr)
    assert result.stdout == ""
    prefix = f"An error occurred ({code}) when calling the {operation} operation: "
    assert prefix in result.stderr, result.stderr
    return result.stderr.split(prefix, 1)[1].strip()


def test_trail_lifecycle_with_the_cli(tenant: Tenant) -> None:
    account = tenant.account_id
    created = ok(
        tenant,
        "create-trail",
        "--name",
        "cli-trail",
        "--s3-bucket-name",
        tenant.bucket,
        "--s3-key-prefix",
        "audit",
        "--is-multi-region-trail",
        "--enable-log-file-validation",
        "--kms-key-id",
        "alias/cli",
        "--tags-list",
        "Key=owner,Value=cli",
    )
    assert created == {
        "Name": "cli-trail",
        "S3BucketName": tenant.bucket,
        "S3KeyPrefix": "audit",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "TrailARN": tenant.arn("cli-trail"),
        "LogFileValidationEnabled": True,
        "KmsKeyId": f"arn:aws:kms:us-east-1:{account}:alias/cli",
        "IsOrganizationTrail": False,
    }
    # validate-logs' view: DescribeTrails with no arguments, shadow trails included, from another region.
    described = ok(tenant, "describe-trails", region="eu-west-1")["trailList"]
    assert [t["TrailARN"] for t in described] == [tenant.arn("cli-trail")]
    assert described[0]["HomeRegion"] == "us-east-1"
    # Before the first start, the AWS CLI prints what AWS sends: IsLogging and six empty strings.
    assert ok(tenant, "get-trail-status", "--name", "cli-trail") == {
        "IsLogging": False,
        "LatestDeliveryAttemptTime": "",
        "LatestNotificationAttemptTime": "",
        "LatestNotificationAttemptSucceeded": "",
        "LatestDeliveryAttemptSucceeded": "",
        "TimeLoggingStarted": "",
        "TimeLoggingStopped": "",
    }
    assert ok(tenant, "start-logging", "--name", "cli-trail") is None
    status = ok(tenant, "get-trail-status", "--name", tenant.arn("cli-trail"))
    # AWS CLI v1 prints timestamps as they come on the wire: epoch seconds as a number.
    assert status["IsLogging"] is True
    assert isinstance(status["StartLoggingTime"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["TimeLoggingStarted"])
    listed = ok(tenant, "list-trails")
    assert listed == {
        "Trails": [{"TrailARN": tenant.arn("cli-trail"), "Name": "cli-trail", "HomeRegion": "us-east-1"}]
    }
    tags = ok(tenant, "list-tags", "--resource-id-list", tenant.arn("cli-trail"))
    assert tags == {
        "ResourceTagList": [
            {"ResourceId": tenant.arn("cli-trail"), "TagsList": [{"Key": "owner", "Value": "cli"}]}
        ]
    }
    assert ok(tenant, "delete-trail", "--name", "cli-trail") is None
    assert ok(tenant, "describe-trails") == {"trailList": []}


def test_selectors_with_the_cli(tenant: Tenant) -> None:
    ok(tenant, "create-trail", "--name", "cli-selectors", "--s3-bucket-name", tenant.bucket)
    selectors = [
        {
            "ReadWriteType": "WriteOnly",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]
    put = ok(
        tenant,
        "put-event-selectors",
        "--trail-name",
        "cli-selectors",
        "--event-selectors",
        json.dumps(selectors),
    )
    assert put == {"TrailARN": tenant.arn("cli-selectors"), "EventSelectors": selectors}
    assert ok(tenant, "get-event-selectors", "--trail-name", "cli-selectors") == put
    message = fails(
        tenant,
        "InsightNotEnabledException",
        "GetInsightSelectors",
        "get-insight-selectors",
        "--trail-name",
        "cli-selectors",
    )
    assert message.startswith("Trail cli-selectors does not have Insights enabled.")
    bad = fails(
        tenant,
        "InvalidEventSelectorsException",
        "PutEventSelectors",
        "put-event-selectors",
        "--trail-name",
        "cli-selectors",
        "--event-selectors",
        '[{"ReadWriteType": "read-only"}]',
    )
    assert "read-only" in bad
    ok(tenant, "delete-trail", "--name", "cli-selectors")


def test_errors_exit_255_with_the_code_and_message(tenant: Tenant) -> None:
    message = fails(
        tenant,
        "InvalidTrailNameException",
        "CreateTrail",
        "create-trail",
        "--name",
        "bad--name",
        "--s3-bucket-name",
        tenant.bucket,
    )
    assert message == "Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_)."
    message = fails(
        tenant,
        "S3BucketDoesNotExistException",
        "CreateTrail",
        "create-trail",
        "--name",
        "nobucket",
        "--s3-bucket-name",
        "no-such-bucket-cli",
    )
    assert message == "S3 bucket no-such-bucket-cli does not exist!"
    message = fails(
        tenant, "TrailNotFoundException", "GetTrailStatus", "get-trail-status", "--name", "missing"
    )
    # AWS's GetTrailStatus names the ARN a name stands for (elastic/cloudbeat#1750).
    arn = f"arn:aws:cloudtrail:us-east-1:{tenant.account_id}:trail/missing"
    assert message == f"Unknown trail: {arn} for the user: {tenant.account_id}"
