"""Load balancers probe with HEAD: ``HEAD /health`` and ``HEAD /metrics`` answer as GET does, without a
body, from the real server."""

from __future__ import annotations

import httpx
import pytest

from tests.support.connections import connect, read_until_closed, request_head
from tests.support.server import Server


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_head_probe_answers_like_get(server: Server, path: str) -> None:
    got = httpx.get(server.endpoint + path, timeout=10)
    head = httpx.head(server.endpoint + path, timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == got.headers["content-type"]
    if path == "/health":
        assert head.headers["content-length"] == str(len(got.content))


def test_head_health_sends_no_body_on_the_wire(server: Server) -> None:
    """Nothing after the headers: a body would be read as the start of the next answer."""
    with connect(server.endpoint) as sock:
        sock.sendall(request_head("HEAD", "/health", {"Connection": "close"}))
        answer = read_until_closed(sock)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert rest == b""
