"""A call is recorded, or it is not performed (issue 13, defect 1).

A signed call carrying a large unknown member used to be performed and then answered 500 unrecorded,
its record over 256 KB. Now oversized requestParameters are replaced as CloudTrail replaces them and
the call is performed and found in history; and the calls that stop a trail are delivered by it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.audit import recorded
from tests.support.delivery import Tenant
from tests.support.protocol import cloudtrail_headers, signed_post
from tests.support.server import Credentials, Server, make_server, wait_for

PADDING = 300_000  # over CloudTrail's 100 KB for requestParameters, under the 1 MB body limit


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server({"OPENTRAIL_DELIVERY_INTERVAL": "1"})


def call(server: Server, creds: Credentials, operation: str, **params: Any) -> httpx.Response:
    body = json.dumps(params).encode()
    return signed_post(server, creds, body, cloudtrail_headers(operation))


def omitted(size: int) -> dict[str, Any]:
    return {"reason": "requestParameters too large", "omitted": True, "originalSize": size}


@pytest.mark.parametrize("operation", ["CreateTrail", "StartLogging", "StopLogging", "DeleteTrail"])
def test_a_call_with_a_large_unknown_member_is_performed_and_recorded(server: Server, operation: str) -> None:
    tenant = Tenant(server)
    name = f"padded-{uuid.uuid4().hex[:8]}"
    if operation != "CreateTrail":
        tenant.trail(name)
    params = {"Name": name, "S3BucketName": tenant.bucket, "Padding": "x" * PADDING}
    response = call(server, tenant.creds, operation, **params)
    assert response.status_code == 200, response.text
    record = recorded(server, tenant.creds, operation, response.headers["x-amzn-requestid"])
    assert record is not None, f"{operation} was performed but is not in history"
    sent = len(
        json.dumps(
            {"name": name, "s3BucketName": tenant.bucket, "padding": "x" * PADDING}, separators=(",", ":")
        )
    )
    assert record["requestParameters"] == omitted(sent)
    # The rest of the record is kept, the trail it touched included.
    assert record["eventName"] == operation
    assert record["recipientAccountId"] == tenant.account
    assert any(name in r["ARN"] for r in record.get("resources", [])), record
    trails = {t["Name"] for t in tenant.cloudtrail.describe_trails()["trailList"]}
    assert (name in trails) is (operation != "DeleteTrail")


def test_parameters_up_to_100_kb_are_recorded_as_sent(server: Server) -> None:
    tenant = Tenant(server)
    name = f"kept-{uuid.uuid4().hex[:8]}"
    padding = "y" * 90_000
    response = call(
        server, tenant.creds, "CreateTrail", Name=name, S3BucketName=tenant.bucket, Padding=padding
    )
    assert response.status_code == 200, response.text
    record = recorded(server, tenant.creds, "CreateTrail", response.headers["x-amzn-requestid"])
    assert record is not None
    assert record["requestParameters"]["padding"] == padding
    assert record["responseElements"]["name"] == name


def test_a_refused_call_with_a_large_member_is_recorded_too(server: Server) -> None:
    tenant = Tenant(server)
    response = call(server, tenant.creds, "StartLogging", Name="no-such-trail", Padding="z" * PADDING)
    assert response.status_code == 400, response.text
    record = recorded(server, tenant.creds, "StartLogging", response.headers["x-amzn-requestid"])
    assert record is not None
    assert record["errorCode"] == "TrailNotFoundException"
    assert record["requestParameters"]["omitted"] is True


@pytest.mark.parametrize("operation", ["StopLogging", "DeleteTrail"])
def test_the_call_that_stops_a_trail_is_in_its_last_log_file(server: Server, operation: str) -> None:
    tenant = Tenant(server)
    tenant.trail("stopped-by-itself")
    response = call(server, tenant.creds, operation, Name="stopped-by-itself")
    assert response.status_code == 200, response.text
    request_id = response.headers["x-amzn-requestid"]

    def delivered() -> list[dict[str, Any]]:
        return [r for r in tenant.records() if r.get("requestID") == request_id]

    [record] = wait_for(delivered, f"{operation}'s own record in the trail's log files")
    assert record["eventName"] == operation
