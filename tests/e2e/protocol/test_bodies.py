"""Request bodies: not a JSON object, a wrong or missing Content-Type, and bodies over the JSON and the
native endpoint's limits, declared or chunked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from opentrail.server import operations
from tests.support.protocol import JSON_11, check_error, cloudtrail_headers, post, signed_headers, signed_post
from tests.support.server import Credentials, Server

MB = 1024 * 1024
NATIVE_LIMIT = 10 * MB  # Settings.max_body_bytes, the server's default


def served_operation() -> str:
    """An operation this server answers, for checks that run before any operation does."""
    if not operations.OPERATIONS:
        pytest.skip("operations.OPERATIONS is empty: no CloudTrail operation is registered yet")
    for preferred in ("DescribeTrails", "ListTrails", "LookupEvents", "ListChannels"):
        if preferred in operations.OPERATIONS:
            return preferred
    return sorted(operations.OPERATIONS)[0]


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b'{"trailNameList": [', ["not valid JSON"]),
        (b"{'single': 'quotes'}", ["not valid JSON"]),
        (b"[1, 2, 3]", ["must be a JSON object", "list"]),
        (b'"a string"', ["must be a JSON object", "str"]),
        (b"42", ["must be a JSON object", "int"]),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["nested too deeply"]),
    ],
    ids=["truncated", "single-quotes", "array", "string", "number", "deeply-nested"],
)
def test_body_that_is_not_a_json_object(
    server: Server, creds: Credentials, body: bytes, mentions: list[str]
) -> None:
    response = signed_post(server, creds, body, cloudtrail_headers(served_operation()))
    check_error(response, 400, "SerializationException", *mentions)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_wrong_content_type(server: Server, creds: Credentials, content_type: str) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers(served_operation(), content_type))
    check_error(response, 400, "SerializationException", "Content-Type", JSON_11, content_type.split(";")[0])


def test_missing_content_type(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers(served_operation(), None))
    check_error(response, 400, "SerializationException", "Content-Type", JSON_11)


def test_json_body_over_one_megabyte(server: Server, creds: Credentials) -> None:
    body = json.dumps({"TrailName": "x" * MB}).encode()
    response = signed_post(server, creds, body, cloudtrail_headers(served_operation()))
    check_error(response, 400, "RequestEntityTooLargeException", str(len(body)), str(MB))


def test_native_body_over_the_limit_with_declared_length(server: Server) -> None:
    body = b" " * (NATIVE_LIMIT + 1)
    response = post(server, body, {"Content-Type": "application/json"}, "/IngestRecords")
    check_error(
        response, 400, "RequestEntityTooLargeException", str(NATIVE_LIMIT + 1), str(NATIVE_LIMIT), rest=True
    )


def test_native_body_over_the_limit_chunked(server: Server, creds: Credentials) -> None:
    """Signed, so the body is read (an unsigned one is refused from its headers); sent without a length,
    so the limit is found while reading."""
    piece = b" " * 65536
    count = NATIVE_LIMIT // len(piece) + 2

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield piece

    headers = signed_headers(
        server,
        creds,
        piece * count,
        {"Content-Type": "application/json"},
        service="cloudtrail-data",
        path="/IngestRecords",
    )
    headers.pop("Content-Length", None)
    response = post(server, chunks(), headers, "/IngestRecords")
    assert response.request.headers.get("transfer-encoding") == "chunked"
    check_error(response, 400, "RequestEntityTooLargeException", str(NATIVE_LIMIT), rest=True)
