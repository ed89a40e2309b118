"""Requests refused from their headers alone (issue 13, defect 3): a garbage Authorization header, an
unknown access key, a request date out of range or a credential scope naming no region is answered
before a byte of the request's body has been sent, over a real socket to the real server, in the error
shape of the service the request names. A server that reads the body first never answers here: the
client sends none."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SIGV4_TIMESTAMP

from tests.support.protocol import JSON_11, TARGET
from tests.support.server import Credentials, Server

MB = 1024 * 1024
TEN_MB = 10 * MB
ANSWER_SECONDS = 10.0


def head_only(
    server: Server, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """Send a request's head declaring ``headers`` (a Content-Length among them) and no body at all;
    return the status, headers and body of the answer."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_SECONDS) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
            head, _, body = received.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            answer = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)
            }
            length = int(answer.get("content-length", "0"))
            while len(body) < length:
                data = sock.recv(65536)
                if not data:
                    break
                body += data
        except TimeoutError:
            pytest.fail(f"no answer within {ANSWER_SECONDS} s: the server waits for the body it declared")
    return int(status_line.split()[1]), answer, body


def now_headers(authorization: str, when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(UTC)
    date = when.strftime("%Y%m%d")
    return {"X-Amz-Date": when.strftime(SIGV4_TIMESTAMP), "Authorization": authorization.format(date=date)}


def authorization(
    key: str, service: str = "cloudtrail", region: str = "us-east-1", signed: str = "host;x-amz-date"
) -> str:
    """A well-formed Authorization header whose signature is wrong; ``{date}`` is left to fill in."""
    scope = f"{key}/{{date}}/{region}/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={'0' * 64}"


def refused(case: str, creds: Credentials) -> dict[str, str]:
    """The authentication headers of each way to be refused before the body."""
    key = creds.access_key_id
    if case == "garbage":
        return now_headers("AWS4-HMAC-SHA256 garbage")
    if case == "not-sigv4":
        return now_headers("Bearer " + "x" * 200)
    if case == "no-authorization":
        return {}
    if case == "unknown-key":
        return now_headers(authorization("AKIANOSUCHKEY0000000"))
    if case == "an-hour-old":
        return now_headers(authorization(key), datetime.now(UTC) - timedelta(hours=1))
    if case == "no-region":
        return now_headers(authorization(key, region="-west"))
    # The key is known and the scope sound, but the signature is wrong; x-amz-content-sha256 names the
    # body's hash, so the signature can be checked before the body is read.
    assert case == "wrong-signature"
    signed = "host;x-amz-content-sha256;x-amz-date"
    return {**now_headers(authorization(key, signed=signed)), "X-Amz-Content-Sha256": "0" * 64}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("garbage", "IncompleteSignatureException"),
        ("not-sigv4", "IncompleteSignatureException"),
        ("no-authorization", "MissingAuthenticationTokenException"),
        ("unknown-key", "UnrecognizedClientException"),
        ("an-hour-old", "InvalidSignatureException"),
        ("no-region", "InvalidSignatureException"),
        ("wrong-signature", "InvalidSignatureException"),
    ],
)
def test_a_json_call_is_refused_before_its_body(
    server: Server, creds: Credentials, case: str, code: str
) -> None:
    headers = {
        "Content-Type": JSON_11,
        "X-Amz-Target": TARGET + "DescribeTrails",
        "Content-Length": str(MB - 1),
        **refused(case, creds),
    }
    status, answer, body = head_only(server, "POST", "/", headers)
    assert status == 403, body
    assert json.loads(body)["__type"] == code
    assert answer.get("connection") == "close"  # the unread body is not drained


def test_the_data_plane_is_refused_before_its_body(server: Server) -> None:
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(TEN_MB - 1),
        **now_headers(authorization("AKIANOSUCHKEY0000000", "cloudtrail-data")),
    }
    status, answer, body = head_only(server, "POST", "/IngestRecords", headers)
    assert status == 403, body
    assert answer["x-amzn-errortype"] == "UnrecognizedClientException"


@pytest.mark.parametrize(
    ("key", "code"),
    [("AKIANOSUCHKEY0000000", "InvalidAccessKeyId"), (None, "SignatureDoesNotMatch")],
)
def test_an_s3_upload_is_refused_before_its_body_in_s3s_shape(
    server: Server, creds: Credentials, key: str | None, code: str
) -> None:
    signed = "host;x-amz-content-sha256;x-amz-date"
    headers = {
        "Content-Length": str(TEN_MB),
        "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD",
        **now_headers(authorization(key or creds.access_key_id, "s3", signed=signed)),
    }
    status, _, body = head_only(server, "PUT", "/some-bucket/some-key", headers)
    assert status == 403, body
    assert f"<Code>{code}</Code>".encode() in body


def test_a_declared_length_over_the_limit_is_refused_first(server: Server) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(TEN_MB + 1)}
    status, answer, body = head_only(server, "POST", "/IngestRecords", headers)
    assert (status, answer["x-amzn-errortype"]) == (400, "RequestEntityTooLargeException"), body
