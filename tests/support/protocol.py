"""Requests built by hand for the protocol edge's tests: signed with botocore's own SigV4 signer (at a
time of the test's choosing), sent with httpx, and their answers held to CloudTrail's error shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import botocore.session
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from opentrail.server import operations
from tests.support.server import Credentials, Server
from tests.support.signing import HeaderSigner

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON_11 = "application/x-amz-json-1.1"


def signed_headers(
    server: Server,
    creds: Credentials,
    body: bytes,
    headers: dict[str, str],
    *,
    service: str = "cloudtrail",
    path: str = "/",
    secret: str | None = None,
    when: datetime | None = None,
    region: str = "us-east-1",
) -> dict[str, str]:
    """The headers botocore would send for this request, Authorization included."""
    request = AWSRequest(method="POST", url=server.endpoint + path, data=body, headers=headers)
    signer = HeaderSigner(
        BotoCredentials(creds.access_key_id, secret or creds.secret),
        service,
        region,
        when or datetime.now(UTC),
    )
    signer.add_auth(request)
    return dict(request.headers.items())


def cloudtrail_headers(operation: str, content_type: str | None = JSON_11) -> dict[str, str]:
    headers = {"X-Amz-Target": TARGET + operation}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def post(server: Server, body: Any, headers: dict[str, str], path: str = "/") -> httpx.Response:
    with httpx.Client(timeout=60) as http:
        return http.post(server.endpoint + path, content=body, headers=headers)


def signed_post(
    server: Server, creds: Credentials, body: bytes, headers: dict[str, str], **sign: Any
) -> httpx.Response:
    path = sign.get("path", "/")
    return post(server, body, signed_headers(server, creds, body, headers, **sign), path)


def check_error(response: httpx.Response, status: int, code: str, *mentions: str, rest: bool = False) -> str:
    """Assert CloudTrail's error shape; return the message. ``mentions`` must all appear in it."""
    text = response.text
    assert "Traceback" not in text
    assert "<html" not in text.lower()
    assert response.status_code == status, text
    assert response.headers.get("x-amzn-RequestId"), dict(response.headers)
    body = response.json()
    if rest:
        assert response.headers.get("x-amzn-ErrorType") == code, dict(response.headers)
        assert response.headers["content-type"].startswith("application/json")
    else:
        assert set(body) == {"__type", "message"}, body
        assert body["__type"] == code, body
        assert response.headers["content-type"].startswith(JSON_11)
    message = body["message"]
    assert isinstance(message, str)
    for mention in mentions:
        assert mention in message, f"{mention!r} not in {message!r}"
    return message


def unserved_operation() -> str:
    """An operation of CloudTrail's model with no required input that this server does not answer."""
    model = botocore.session.get_session().get_service_model("cloudtrail")
    for name in sorted(model.operation_names):
        shape = model.operation_model(name).input_shape
        if name not in operations.OPERATIONS and (shape is None or not shape.required_members):
            return name
    pytest.skip("the server answers every CloudTrail operation")


def ingest(server: Server, creds: Credentials, body: bytes, query: str = "") -> httpx.Response:
    path = "/IngestRecords" + query
    headers = {"Content-Type": "application/json"}
    return signed_post(server, creds, body, headers, service="cloudtrail-data", path=path)
