"""Shared helpers for the trail, selector and tag tests: a tenant (account + bucket), error checks, and the
regions, KMS key and CloudWatch Logs destinations trails name."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from tests.support.server import Credentials, Server

EAST, WEST = "us-east-1", "us-west-2"
KEY_ID = "12345678-1234-1234-1234-123456789012"
LOG_GROUP_NAME = "CloudTrail/audit"
LOG_GROUP = "arn:aws:logs:us-east-1:{account}:log-group:" + LOG_GROUP_NAME + ":*"
ROLE = "arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role"

# CloudTrail's own texts for the trail-name rules (moto's exceptions and tests copied them from AWS; the
# adjacent-separator and IP-address texts from ctyun OOS's CloudTrail clone), asserted exactly.
NAME_TOO_SHORT = (
    "Trail name too short. Minimum allowed length: 3 characters. Specified name length: {} characters."
)
NAME_TOO_LONG = (
    "Trail name too long. Maximum allowed length: 128 characters. Specified name length: {} characters."
)
NAME_STARTS = "Trail name must starts with a letter or number."
NAME_ENDS = "Trail name must ends with a letter or number."
NAME_CHARS = (
    "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens "
    "(-), and underscores (_)."
)
NAME_ADJACENT = "Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_)."
NAME_IP_ADDRESS = "Trail names must not be formatted as an IP address."


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class Tenant:
    """One account on the shared server, with a bucket of its own to point trails at."""

    server: Server
    creds: Credentials
    bucket: str
    # boto3 clients are slow to build (~50 ms); one per region is enough.
    clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, server: Server, creds: Credentials | None = None) -> Tenant:
        creds = creds or server.new_account()
        bucket = unique("trails")
        server.create_bucket(bucket, creds)
        return cls(server, creds, bucket)

    @property
    def account_id(self) -> str:
        return self.creds.account_id

    def client(self, region: str = "us-east-1") -> Any:
        if region not in self.clients:
            self.clients[region] = self.server.client("cloudtrail", self.creds, region)
        return self.clients[region]

    def raw(self, operation: str, params: dict[str, Any], region: str = "us-east-1") -> Any:
        """Send ``params`` as given, past botocore's own type and length checks, to see what the server
        answers on its own."""
        creds = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.server.endpoint, creds, region) as client:
            return client.cloudtrail(operation, params)

    def arn(self, name: str, region: str = "us-east-1") -> str:
        return f"arn:aws:cloudtrail:{region}:{self.account_id}:trail/{name}"

    def clear(self) -> None:
        """Delete every trail of the account (each from its home region), so the next test starts empty."""
        for info in self.client().list_trails()["Trails"]:
            self.client(info["HomeRegion"]).delete_trail(Name=info["TrailARN"])

    def trail(self, name: str | None = None, region: str = "us-east-1", **members: Any) -> dict[str, Any]:
        """Create a trail; returns CreateTrail's response."""
        response: dict[str, Any] = self.client(region).create_trail(
            Name=name or unique("trail"), S3BucketName=self.bucket, **members
        )
        return response


def expect_error(code: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Run ``call``; it must fail with error ``code``. Returns the error message."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == code, error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error["Message"])


def body(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 response without its ResponseMetadata."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def expect_raw_error(code: str, tenant: Tenant, operation: str, params: dict[str, Any]) -> str:
    """Like ``expect_error`` for ``Tenant.raw``."""
    with pytest.raises(RemoteError) as caught:
        tenant.raw(operation, params)
    assert caught.value.code == code, caught.value
    assert caught.value.status == 400
    return caught.value.message
