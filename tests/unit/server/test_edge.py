"""The protocol edge (``server/edge.py``) in process: requests signed by botocore are authenticated,
routed by the SigV4 service and X-Amz-Target, answered with the JSON 1.1 headers and error body
botocore parses, and audited (changes and failures before the answer, successful reads in groups whose
failure is logged)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.requests import Request
from starlette.responses import Response

from opentrail.clock import SystemClock
from opentrail.errors import InvalidInput, SerializationException, StoreError, TrailNotFound
from opentrail.events import decode
from opentrail.ingest.records import index_record
from opentrail.organizations import accounts
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX as TARGET_PREFIX
from opentrail.protocol import JSON_11_CONTENT_TYPE as JSON_11
from opentrail.server.edge import Edge, JsonResponse, error_response, report_lost_reads
from opentrail.server.metrics import Metrics
from opentrail.store.sqlite.store import SQLiteStore
from tests.support.asgi import from_botocore
from tests.support.calls import Env
from tests.support.server import management_record
from tests.support.services import open_env

ACCOUNT = "111122223333"


def test_a_failed_commit_of_read_audit_events_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody waits on reads' audit events: when their commit fails, the server log must say so."""
    store = SQLiteStore(str(tmp_path / "closed.db"))
    store.close()
    record = json.dumps(management_record("123456789012", read_only=True)).encode()
    future = store.submit([index_record(record, "123456789012")])
    with caplog.at_level(logging.ERROR, logger="opentrail"):
        future.add_done_callback(report_lost_reads)
    assert "audit events of read calls could not be stored" in caplog.text
    assert "the store is closed" in caplog.text


@pytest.mark.parametrize("status", [200, 400, 403, 500, 503, 204, 304, 101])
@pytest.mark.parametrize("body", [b"{}", b'{"Trails":[]}', b""])
def test_json_response_sends_exactly_starlettes_headers(status: int, body: bytes) -> None:
    ours = JsonResponse(body, status, "req-1")
    theirs = Response(body, status_code=status, media_type=JSON_11, headers={"x-amzn-RequestId": "req-1"})
    assert ours.raw_headers == theirs.raw_headers
    assert (ours.status_code, ours.body) == (theirs.status_code, theirs.body)


def test_the_error_responses() -> None:
    plain = error_response(TrailNotFound("Unknown trail: t1"), "req-1")
    assert (plain.status_code, plain.headers["x-amzn-requestid"]) == (400, "req-1")
    assert json.loads(plain.body) == {"__type": "TrailNotFoundException", "message": "Unknown trail: t1"}
    # rest-json (cloudtrail-data): botocore reads the code from x-amzn-ErrorType.
    rest = error_response(InvalidInput("bad", "INVALID_PATTERN"), "req-2", rest=True)
    assert rest.headers["x-amzn-errortype"] == "InvalidInputException"
    assert json.loads(rest.body) == {"message": "bad"}


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}"])
def test_an_empty_body_is_no_members(body: bytes) -> None:
    assert Edge.decode_params(body) == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not valid JSON in UTF-8"),
        (b'{"a": "\xff"}', "not valid JSON in UTF-8"),
        (b"[1, 2]", "must be a JSON object, got list"),
        (b'"text"', "must be a JSON object, got str"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_decode_params_refuses_what_is_not_a_json_object(body: bytes, message: str) -> None:
    with pytest.raises(SerializationException, match=message):
        Edge.decode_params(body)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    ids = iter(f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 1000))
    for env in open_env(tmp_path, SystemClock()):
        env.services.new_id = lambda: next(ids)
        yield env


def signed(
    env: Env,
    operation: str,
    params: dict[str, Any],
    *,
    service: str = "cloudtrail",
    prefix: str = TARGET_PREFIX,
    region: str = "eu-west-1",
    content_type: str = JSON_11,
    secret: str | None = None,
    key: str | None = None,
    content_sha256: bool = False,
) -> Request:
    """A call signed as the account's root (created in the store on first use), or with another
    ``secret`` or access ``key``; ``content_sha256`` names the payload hash in x-amz-content-sha256."""
    root = accounts.root_key_of(env.store, ACCOUNT)
    if root is None:
        _, root = accounts.new_account(env.store, env.services.clock, "edge", ACCOUNT)
    body = json.dumps(params).encode()
    headers = {"Content-Type": content_type, "X-Amz-Target": prefix + operation, "User-Agent": "unit/1"}
    if content_sha256:
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest("POST", "http://127.0.0.1:8790/", data=body, headers=headers)
    credentials = Credentials(key or root.access_key_id, secret or root.secret)
    SigV4Auth(credentials, service, region).add_auth(request)
    return from_botocore(request)


def dispatch(edge: Edge, request: Request) -> tuple[int, dict[str, Any], Response]:
    response = asyncio.run(edge.dispatch(request))
    return response.status_code, json.loads(bytes(response.body) or b"{}"), response


def audited(env: Env) -> list[dict[str, Any]]:
    """The audit records stored so far."""
    return [decode(event.row.record) for event in env.store.read_after(0, 100)]


def test_a_read_is_answered_and_audited_in_the_next_group(env: Env) -> None:
    edge = Edge(env.services, Metrics())
    status, body, response = dispatch(edge, signed(env, "ListTrails", {}))
    assert (status, body) == (200, {"Trails": []})
    assert response.headers["x-amzn-requestid"] == "00000000-0000-4000-8000-000000000001"
    assert response.headers["content-type"] == JSON_11
    assert env.store.count_events(ACCOUNT) == 0  # reads are committed in groups, nobody waits
    edge.flush_reads()
    deadline = time.monotonic() + 10
    while env.store.count_events(ACCOUNT) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    (record,) = audited(env)
    assert (record["eventName"], record["awsRegion"], record["requestID"]) == (
        "ListTrails",
        "eu-west-1",
        "00000000-0000-4000-8000-000000000001",
    )
    assert (record["sourceIPAddress"], record["userAgent"]) == ("192.0.2.9", "unit/1")


def test_a_failed_change_is_audited_before_it_is_answered(env: Env) -> None:
    edge = Edge(env.services, Metrics())
    status, body, _ = dispatch(edge, signed(env, "StartLogging", {"Name": "missing"}))
    assert status == 400
    assert body["__type"] == "TrailNotFoundException"
    (record,) = audited(env)
    assert (record["eventName"], record["errorCode"]) == ("StartLogging", "TrailNotFoundException")
    assert (
        edge.metrics.registry.get_sample_value(
            "opentrail_requests_total", {"operation": "StartLogging", "status": "400"}
        )
        == 1
    )


def test_an_organizations_call_is_audited_in_us_east_1(env: Env) -> None:
    edge = Edge(env.services, Metrics())
    request = signed(
        env,
        "DescribeOrganization",
        {},
        service="organizations",
        prefix="AWSOrganizationsV20161128.",
        region="ap-south-1",
    )
    status, body, _ = dispatch(edge, request)
    assert (status, body["__type"]) == (400, "AWSOrganizationsNotInUseException")
    (record,) = audited(env)
    assert (record["eventSource"], record["awsRegion"]) == ("organizations.amazonaws.com", "us-east-1")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"secret": "not-the-secret"}, 403, "InvalidSignatureException"),
        ({"prefix": "com.amazonaws.cloudtrail.v20131101.Other."}, 400, "UnknownOperationException"),
        ({"service": "sts"}, 400, "UnknownOperationException"),
        ({"content_type": "text/plain"}, 400, "SerializationException"),
    ],
)
def test_refusals_in_cloudtrails_error_shape(
    env: Env, change: dict[str, Any], status: int, code: str
) -> None:
    edge = Edge(env.services, Metrics())
    got_status, body, _ = dispatch(edge, signed(env, "ListTrails", {}, **change))
    assert (got_status, body["__type"]) == (status, code)


def test_an_unknown_access_key_is_unrecognized(env: Env) -> None:
    request = AWSRequest(
        "POST", "http://127.0.0.1:8790/", data=b"{}", headers={"X-Amz-Target": TARGET_PREFIX + "ListTrails"}
    )
    SigV4Auth(Credentials("AKIANOSUCHKEY0000000", "secret"), "cloudtrail", "us-east-1").add_auth(request)
    status, body, _ = dispatch(Edge(env.services, Metrics()), from_botocore(request))
    assert (status, body["__type"]) == (403, "UnrecognizedClientException")
    assert "AKIANOSUCHKEY0000000" in body["message"]


def unread(request: Request) -> Request:
    """The request with a body that fails the test if anyone reads it."""

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    return Request(request.scope, receive)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "not-the-secret"}, "InvalidSignatureException"),
        ({"key": "AKIANOSUCHKEY0000000"}, "UnrecognizedClientException"),
    ],
)
def test_a_refusal_from_the_headers_reads_no_body(env: Env, change: dict[str, str], code: str) -> None:
    """With x-amz-content-sha256 naming the payload hash, even the signature is checked before the body."""
    request = signed(env, "ListTrails", {"padding": "x" * 100_000}, content_sha256=True, **change)
    status, body, response = dispatch(Edge(env.services, Metrics()), unread(request))
    assert (status, body["__type"]) == (403, code)
    assert response.headers["connection"] == "close"


def test_a_body_over_the_json_limit_is_refused_before_it_is_read(env: Env) -> None:
    params = {"padding": "x" * 1_100_000}
    status, body, _ = dispatch(Edge(env.services, Metrics()), unread(signed(env, "ListTrails", params)))
    assert (status, body["__type"]) == (400, "RequestEntityTooLargeException")
    size = len(json.dumps(params))
    assert body["message"] == f"request body is {size} bytes; the limit is 1048576 bytes"


def test_a_changes_record_is_retried_while_the_store_refuses_it(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change is committed a moment before its record: a store that fails for a moment must not
    leave the change unrecorded (the record is retried before the failure is answered)."""
    edge = Edge(env.services, Metrics())
    real_submit = env.store.submit
    failures = iter([True, True])

    def flaky(rows: Any) -> Any:
        if next(failures, False):
            raise StoreError("the database is locked")
        return real_submit(rows)

    monkeypatch.setattr(env.store, "submit", flaky)
    status, body, _ = dispatch(edge, signed(env, "StartLogging", {"Name": "missing"}))
    assert (status, body["__type"]) == (400, "TrailNotFoundException")
    (record,) = audited(env)
    assert record["errorCode"] == "TrailNotFoundException"
