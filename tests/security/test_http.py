"""The HTTP around the API, attacked: operations named wrongly or not at all, bodies of the wrong type,
methods a route does not take, malformed and smuggling-shaped requests on a raw socket (bare CR, folded
headers, conflicting lengths, Transfer-Encoding tricks), headers huge or many, a request without Host,
and response headers built from stored input."""

from __future__ import annotations

import email.header
import json
import time

import pytest
from botocore.awsrequest import AWSRequest

from tests.support.audit import traces
from tests.support.holdings import Holdings
from tests.support.protocol import TARGET
from tests.support.routes import route
from tests.support.server import Server
from tests.support.signing import HeaderSigner, S3HeaderSigner, boto_credentials, sign
from tests.support.wire import JSON_11, Answer, Wire, json_error, rest_error

PLAIN_400 = b"Invalid HTTP request received."


def signed_call(
    server: Server, wire: Wire, h: Holdings, target: str, body: bytes, content_type: str | None = JSON_11
) -> Answer:
    headers = {"X-Amz-Target": target}
    if content_type is not None:
        headers["Content-Type"] = content_type
    signed = sign(server.endpoint + "/", "POST", headers, body, h.creds, service="cloudtrail")
    return wire.send("cloudtrail", "POST", "/", signed, body)


@pytest.mark.parametrize(
    "target",
    [
        "",
        TARGET,
        "CloudTrail_20131101.DescribeTrails",
        TARGET + "describetrails",
        TARGET + "DescribeTrails/../DeleteTrail",
        TARGET + "X" * 8000,
        "AWSOrganizationsV20161128.DescribeOrganization",
        "AmazonSQS.ListQueues",
        TARGET + '"}<script>alert(1)</script>',
    ],
    ids=[
        "empty",
        "prefix-only",
        "no-namespace",
        "lower-case",
        "path-like",
        "8000-chars",
        "organizations",
        "sqs",
        "markup",
    ],
)
def test_an_operation_not_served_is_unknown(
    server: Server, wire: Wire, intruder: Holdings, target: str
) -> None:
    json_error(signed_call(server, wire, intruder, target, b"{}"), 400, "UnknownOperationException")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_a_body_of_another_type_is_refused_and_changes_nothing(
    server: Server, wire: Wire, intruder: Holdings, content_type: str | None
) -> None:
    """Form posts and text are what a browser can send cross-site: never taken as a JSON call."""
    target = route("cloudtrail-write", intruder)
    answer = signed_call(server, wire, intruder, TARGET + "AddTags", target.body, content_type)
    json_error(answer, 400, "SerializationException")
    assert traces(server, target.marker) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_a_json_call_by_another_method_is_not_served(
    server: Server, wire: Wire, intruder: Holdings, method: str
) -> None:
    """The JSON API is POST only (docs/api.md): a GET that changes a trail is one a cache, a prefetcher or
    a retrying proxy may send again on its own."""
    target = route("cloudtrail-write", intruder)
    request = AWSRequest(method=method, url=server.endpoint + "/", data=target.body, headers=target.headers)
    HeaderSigner(boto_credentials(intruder.creds), "cloudtrail", "us-east-1", None).add_auth(request)
    answer = wire.send("cloudtrail", method, "/", dict(request.headers.items()), target.body)
    json_error(answer, 400, "UnknownOperationException")
    assert traces(server, target.marker) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_the_data_plane_by_another_method_is_not_served(
    server: Server, wire: Wire, intruder: Holdings, method: str
) -> None:
    target = route("ingest-records", intruder)
    request = AWSRequest(
        method=method, url=server.endpoint + target.path, data=target.body, headers=target.headers
    )
    HeaderSigner(boto_credentials(intruder.creds), "cloudtrail-data", "us-east-1", None).add_auth(request)
    answer = wire.send("ingest-records", method, target.path, dict(request.headers.items()), target.body)
    rest_error(answer, 400, "UnknownOperationException")
    assert traces(server, target.marker) == []


POST = b"POST / HTTP/1.1\r\nHost: x\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"
MALFORMED = {
    "bare-cr-in-a-value": b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    "nul-in-a-value": b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "folded-header": b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "space-before-colon": b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
    "no-colon": b"GET /health HTTP/1.1\r\nHost x\r\n\r\n",
    "bad-method": b"G(T /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "length-not-a-number": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "length-negative": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "length-signed": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    "length-list": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\nhello",
    "two-lengths": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "length-overflows": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "length-and-chunked": POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "chunked-not-last": POST + b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "unknown-coding": POST + b"Transfer-Encoding: gzip\r\n\r\nhello",
    "chunk-size-not-hex": CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk-size-overflows": CHUNKED + b"ffffffffffffffffffff\r\nx\r\n0\r\n\r\n",
    "connect": b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_request_is_refused_by_the_http_layer(wire: Wire, case: str) -> None:
    """Below the API: 400 and the connection closed, so nothing after it on the socket (a smuggled
    second request) is read as a request."""
    smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = wire.raw("http", MALFORMED[case] + smuggled)
    assert (answer.status, answer.body) == (400, PLAIN_400), answer
    assert answer.headers.get("connection") == "close"


def test_headers_over_64_kib_are_refused(wire: Wire) -> None:
    for request in (
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 100_000 + b"\r\n\r\n",
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        answer = wire.raw("http", request)
        assert (answer.status, answer.body) == (431, b"request line and headers exceed 65536 bytes")


def test_thousands_of_headers_are_answered(server: Server, wire: Wire, intruder: Holdings) -> None:
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(4000))
    answer = wire.raw("http", b"GET /health HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert (answer.status, answer.json()) == (200, {"status": "ok"})
    started = time.monotonic()
    body = b"{}"
    signed = sign(
        server.endpoint + "/",
        "POST",
        {"X-Amz-Target": TARGET + "DescribeTrails", "Content-Type": JSON_11},
        body,
        intruder.creds,
        service="cloudtrail",
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in signed.items()).encode()
    request = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port
        + head
        + many
        + b"Content-Length: 2\r\n\r\n{}"
    )
    answer = wire.raw("cloudtrail", request)
    assert answer.status == 200, answer.text
    assert time.monotonic() - started < 5


def test_a_signed_request_without_host_is_refused(server: Server, wire: Wire, intruder: Holdings) -> None:
    """HTTP/1.0 lets a client leave Host out; the signature covers it, so the request cannot verify."""
    target = route("cloudtrail-write", intruder)
    signed = target.sign(server.endpoint, intruder.creds)
    head = "".join(f"{k}: {v}\r\n" for k, v in signed.items())
    request = f"POST / HTTP/1.0\r\n{head}Content-Length: {len(target.body)}\r\n\r\n".encode() + target.body
    message = json_error(wire.raw(target.name, request), 403, "InvalidSignatureException")
    assert "host" in message
    assert traces(server, target.marker) == []


def test_a_signed_chunked_body_is_verified_as_sent(server: Server, wire: Wire, intruder: Holdings) -> None:
    target = route("cloudtrail-write", intruder)
    signed = target.sign(server.endpoint, intruder.creds)
    head = "".join(f"{k}: {v}\r\n" for k, v in signed.items())
    body = target.body

    def chunked(data: bytes) -> bytes:
        return (
            b"".join(
                b"%x\r\n%s\r\n" % (len(data[i : i + 7]), data[i : i + 7]) for i in range(0, len(data), 7)
            )
            + b"0\r\n\r\n"
        )

    host = f"127.0.0.1:{server.port}"
    start = f"POST / HTTP/1.1\r\nHost: {host}\r\n{head}Transfer-Encoding: chunked\r\n\r\n".encode()
    altered = body.replace(b"forged-", b"altered")
    json_error(wire.raw(target.name, start + chunked(altered)), 403, "InvalidSignatureException")
    assert wire.raw(target.name, start + chunked(body)).status == 200


def test_a_long_non_ascii_metadata_value_is_served_back_as_one_header(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    """S3 answers non-ASCII metadata RFC 2047-encoded; a value long enough to fold must still go out as
    one header line: a header with a line break in it is refused by the HTTP server, which then drops
    the connection (the object could never be read again) and logs a traceback."""
    key = f"meta-{time.time_ns()}"
    path = f"/{intruder.bucket}/{key}"
    value = "\u00e9t\u00e9 " * 40
    on_the_wire = value.encode("utf-8").decode("latin-1")  # what the server reads: the bytes as latin-1
    request = AWSRequest(
        method="PUT", url=server.endpoint + path, data=b"x", headers={"x-amz-meta-note": on_the_wire}
    )
    S3HeaderSigner(boto_credentials(intruder.creds), "s3", "us-east-1", None).add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    put = wire.raw(
        "s3-put-object",
        f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{head}Content-Length: 1\r\n\r\nx".encode(
            "latin-1"
        ),
    )
    assert put.status == 200, put.text
    for method in ("GET", "HEAD"):
        signed = sign(server.endpoint + path, method, {}, b"", intruder.creds, service="s3")
        answer = wire.send("s3-get-object", method, path, signed)
        assert answer.status == 200, answer
        sent = answer.headers["x-amz-meta-note"]
        assert "\n" not in sent
        decoded = "".join(
            part.decode(charset or "ascii") if isinstance(part, bytes) else part
            for part, charset in email.header.decode_header(sent)
        )
        assert decoded.encode("latin-1").decode("utf-8") == value


def test_an_error_reflects_nothing_outside_its_json(server: Server, wire: Wire) -> None:
    """What the client sent comes back only inside the error's JSON string, escaped."""
    reflected = [(b"Authorization", 'x"}\u2028<script>'.encode())]
    answer = wire.send("cloudtrail", "TRACE", "/", reflected)  # type: ignore[arg-type]
    body = json_error(answer, 403, "IncompleteSignatureException")
    assert json.loads(answer.body)["message"] == body
