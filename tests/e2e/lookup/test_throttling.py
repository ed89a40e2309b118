"""LookupEvents' rate limit, per account and region, on a server of its own: a ThrottlingException
that boto3's default retry mode gets through."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from tests.support.server import Server, make_server


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
