"""The trail a run validates, as the validator sees it: where its files are (``TrailFiles``), found from
its ARN and DescribeTrails, or as given with ``--s3-bucket`` and ``--s3-prefix`` (reference §5.8 steps
1-6)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opentrail.delivery import layout
from opentrail.errors import ValidationAborted

_ARN = re.compile(r"arn:.+:cloudtrail:.+:\d{12}:trail/.+")


class TrailFiles:
    """Where one trail's files for one account and source region are, and what they are called."""

    __slots__ = ("account", "arn", "bucket", "home_region", "name", "organization", "prefix", "source_region")

    def __init__(
        self,
        arn: str,
        bucket: str,
        prefix: str | None,
        account: str,
        name: str,
        home_region: str,
        source_region: str,
        organization: str | None = None,
    ) -> None:
        self.arn, self.bucket, self.prefix, self.account = arn, bucket, prefix, account
        self.name, self.home_region, self.source_region = name, home_region, source_region
        # An organization trail's id folder: AWSLogs/<o-id>/<account>/...
        self.organization = organization

    def digest_folder(self) -> str:
        return layout.digest_folder(self.prefix, self.account, self.source_region, self.organization)

    def digest_stem(self) -> str:
        return layout.digest_file_stem(self.account, self.source_region, self.name, self.home_region)

    def log_folder(self) -> str:
        return layout.log_folder(self.prefix, self.account, self.source_region, self.organization)

    def log_stem(self) -> str:
        return layout.log_file_stem(self.account, self.source_region)


def check_trail_arn(arn: str) -> None:
    """Abort on an ARN the AWS CLI refuses, in its words."""
    if not _ARN.match(arn):
        raise ValidationAborted(f"Invalid trail ARN provided: {arn}")


def find_trail(
    arn: str,
    describe_trails: Callable[[], list[dict[str, Any]]],
    bucket: str | None,
    prefix: str | None,
    account_id: str | None,
    region: str | None,
    organization_id: Callable[[], str] | None = None,
) -> TrailFiles:
    """The trail's bucket and key layout: from DescribeTrails, or as given with ``--s3-bucket``. An
    organization trail's keys carry the organization id (``AWSLogs/<o-id>/<account>/``), which
    ``organization_id`` asks Organizations' DescribeOrganization for, as the AWS CLI does."""
    check_trail_arn(arn)
    organization = None
    if bucket is None:
        found = next((t for t in describe_trails() if t.get("TrailARN") == arn), None)
        if found is None:
            raise ValidationAborted(f"A trail could not be found for {arn}")
        bucket, prefix = str(found["S3BucketName"]), found.get("S3KeyPrefix")
        if found.get("IsOrganizationTrail"):
            if not account_id:
                raise ValidationAborted("Missing required parameter for organization trail: '--account-id'")
            if organization_id is None:
                raise ValidationAborted(
                    f"{arn} is an organization trail; give --s3-bucket and --s3-prefix "
                    "<prefix>/AWSLogs/<organization id> to validate it without the Organizations API"
                )
            organization = organization_id()
    fields = arn.split(":")
    home = fields[3]
    return TrailFiles(
        arn=arn,
        bucket=bucket,
        prefix=prefix or None,
        account=account_id or fields[4],
        name=arn.split("/")[-1],
        home_region=home,
        source_region=region or home,
        organization=organization,
    )
