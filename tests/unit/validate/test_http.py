"""The lean HTTP client of ``validate-logs``: its signatures pass the server's SigV4 check, and its one
I/O thread copes with what HTTP servers do (keep-alive, HTTP/1.0 closes, chunked bodies, a kept-alive
connection closed meanwhile, nobody listening)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from opentrail.server import sigv4
from opentrail.validate.http import Engine, SigV4, SocketClient, TransportError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - the AWS docs' example secret


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "body"),
    [
        ("s3", "GET", "/bucket/AWSLogs/1/CloudTrail/a%20b%2Bc~d.json.gz", [], b""),
        (
            "s3",
            "GET",
            "/bucket",
            [("encoding-type", "url"), ("marker", "a/b c"), ("prefix", "AWSLogs/")],
            b"",
        ),
        ("s3", "GET", "/bucket", [("location", "")], b""),
        ("cloudtrail", "POST", "/", [], b'{"StartTime": 1.5}'),
    ],
)
def test_the_server_accepts_its_signatures(
    service: str, method: str, path: str, query: list[tuple[str, str]], body: bytes
) -> None:
    signer = SigV4("AKIDEXAMPLE", SECRET, "a-session-token", "eu-west-1")
    headers = signer.sign(service, method, "127.0.0.1:8790", path, query, body, {"X-Amz-Target": "T.Op"})
    query_string = "&".join(f"{k}={v}".replace(" ", "%20").replace("/", "%2F") for k, v in query)
    request = sigv4.Request(method, path, query_string, headers, body)
    credential, verify = sigv4.read_credential(request, time.time())
    assert (credential.access_key_id, credential.region, credential.service) == (
        "AKIDEXAMPLE",
        "eu-west-1",
        service,
    )
    verify(request, credential, SECRET)
    with pytest.raises(sigv4.InvalidSignature):
        verify(request, credential, SECRET + "x")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        Handler.connections.add(id(self.connection))
        body = f"{self.path}".encode()
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:3], body[3:]):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_response(404 if self.path.startswith("/missing") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-meta-Signature", "abc")
        self.end_headers()
        self.wfile.write(body)
        if self.path.startswith("/bye"):
            self.close_connection = True  # as a server dropping an idle keep-alive connection

    def log_message(self, *_: object) -> None:
        pass


class OldHandler(Handler):
    protocol_version = "HTTP/1.0"


@pytest.fixture(params=[Handler, OldHandler], ids=["http/1.1", "http/1.0"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_replies_in_any_order_of_completion(endpoint: str) -> None:
    with SocketClient(endpoint, SigV4("AKID", SECRET, None, "us-east-1"), connections=3) as client:
        keys = [f"k{n}/x y" for n in range(40)]
        futures = [client.s3_get("bucket", key) for key in keys]
        futures += [client.s3_get("bucket", "bye"), client.s3_get("bucket", "after-bye")]
        futures.append(client.submit("s3", "GET", "/chunked/abcdef"))
        futures.append(client.submit("s3", "GET", "/missing"))
        replies = [f.result(timeout=30) for f in futures]
    assert [r.body.decode() for r in replies[:40]] == [f"/bucket/k{n}/x%20y" for n in range(40)]
    assert replies[40].body == b"/bucket/bye"
    assert replies[41].body == b"/bucket/after-bye"
    assert replies[42].body == b"/chunked/abcdef"
    assert replies[43].status == 404
    assert replies[0].headers["x-amz-meta-signature"] == "abc"


def test_keep_alive_connections_are_reused() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Handler.connections.clear()
        engine = Engine(f"http://127.0.0.1:{server.server_address[1]}", connections=2)
        try:
            for n in range(20):
                assert engine.submit("GET", f"/{n}", {}).result(timeout=30).body == f"/{n}".encode()
        finally:
            engine.close()
        assert len(Handler.connections) == 1
    finally:
        server.shutdown()
        server.server_close()


def test_nobody_listening_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = Engine(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TransportError):
            engine.submit("GET", "/", {}).result(timeout=30)
    finally:
        engine.close()


def test_close_without_requests_and_twice() -> None:
    engine = Engine("http://127.0.0.1:9")
    engine.close()
    engine.close()
    with pytest.raises(TransportError):
        engine.submit("GET", "/", {})
