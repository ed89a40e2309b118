"""Finding the trail a run validates: from DescribeTrails by exact ARN, or as given with --s3-bucket."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.errors import ValidationAborted
from opentrail.validate.trail import TrailFiles, check_trail_arn, find_trail

ARN = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/audit"
TRAILS: list[dict[str, Any]] = [
    {"TrailARN": ARN.replace("audit", "other"), "S3BucketName": "wrong"},
    {"TrailARN": ARN, "S3BucketName": "logs", "S3KeyPrefix": "pfx"},
]


def nobody() -> list[dict[str, Any]]:
    raise AssertionError("DescribeTrails was called")


def slots(found: TrailFiles) -> tuple[Any, ...]:
    return tuple(getattr(found, name) for name in TrailFiles.__slots__)


def test_described_trail_gives_bucket_and_prefix() -> None:
    found = find_trail(ARN, lambda: TRAILS, None, None, None, None)
    # account, arn, bucket, home region, name, organization, prefix, source region
    assert slots(found) == ("123456789012", ARN, "logs", "eu-west-1", "audit", None, "pfx", "eu-west-1")
    assert found.digest_folder() == "pfx/AWSLogs/123456789012/CloudTrail-Digest/eu-west-1"
    assert found.log_folder() == "pfx/AWSLogs/123456789012/CloudTrail/eu-west-1"


def test_a_given_bucket_skips_describe_trails_and_an_empty_prefix_is_none() -> None:
    found = find_trail(ARN, nobody, "given", "", "210987654321", "us-east-2")
    assert (found.bucket, found.prefix, found.account, found.source_region) == (
        "given",
        None,
        "210987654321",
        "us-east-2",
    )
    assert found.digest_stem() == "210987654321_CloudTrail-Digest_us-east-2_audit_eu-west-1_"
    assert found.log_stem() == "210987654321_CloudTrail_us-east-2_"


def test_an_organization_trail_needs_an_account_and_the_organization_id() -> None:
    trails = [{"TrailARN": ARN, "S3BucketName": "logs", "IsOrganizationTrail": True}]
    with pytest.raises(ValidationAborted, match="Missing required parameter for organization trail"):
        find_trail(ARN, lambda: trails, None, None, None, None, lambda: "o-abc")
    with pytest.raises(ValidationAborted, match="is an organization trail; give --s3-bucket"):
        find_trail(ARN, lambda: trails, None, None, "210987654321", None)
    found = find_trail(ARN, lambda: trails, None, None, "210987654321", None, lambda: "o-abc")
    assert found.digest_folder() == "AWSLogs/o-abc/210987654321/CloudTrail-Digest/eu-west-1"


@pytest.mark.parametrize(
    ("arn", "message"),
    [
        ("arn:aws:cloudtrail:eu-west-1:1234:trail/x", "Invalid trail ARN provided: "),
        (ARN.replace("audit", "nope"), "A trail could not be found for "),
    ],
)
def test_a_bad_or_unknown_arn_aborts_in_the_aws_clis_words(arn: str, message: str) -> None:
    with pytest.raises(ValidationAborted) as raised:
        find_trail(arn, lambda: TRAILS, None, None, None, None)
    assert str(raised.value) == message + arn


def test_arns_the_aws_cli_accepts() -> None:
    check_trail_arn(ARN)
    check_trail_arn("arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/a/b")
