"""The connection cap (OPENTRAIL_MAX_CONNECTIONS): idle sockets and unfinished headers make room for
newcomers, oldest first; when every connection carries a request in progress, a newcomer is answered
503. This module's server has a cap of 20 and long timeouts, so only the cap closes anything."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.support.connections import connect, dropped, read_until_closed, request_head
from tests.support.protocol import cloudtrail_headers, signed_headers
from tests.support.server import Server, make_server, wait_for

CAP = 20


@pytest.fixture(scope="module")
def capped() -> Iterator[Server]:
    yield from make_server({"OPENTRAIL_MAX_CONNECTIONS": str(CAP), "OPENTRAIL_HEADER_TIMEOUT": "60"})


def still_open(sock: socket.socket) -> bool:
    """Nothing to read and no end of stream: the server keeps the connection."""
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    except ConnectionError:
        pass
    finally:
        sock.setblocking(True)
    return False


def test_the_oldest_idle_connection_makes_room(capped: Server) -> None:
    before = dropped(capped.endpoint, "evicted")
    sockets = [connect(capped.endpoint) for _ in range(CAP)]
    try:
        # The 21st connection: the server closes the oldest of the idle ones (or the metrics request's,
        # if it was still open when the 20th came) and answers it.
        assert httpx.get(capped.endpoint + "/health", timeout=10).status_code == 200
        sockets[0].settimeout(5)
        assert read_until_closed(sockets[0]) == b""
        assert all(still_open(s) for s in sockets[1:])
        assert dropped(capped.endpoint, "evicted") - before >= 1
    finally:
        for sock in sockets:
            sock.close()


def test_when_every_connection_is_busy_a_newcomer_is_answered_503(capped: Server) -> None:
    assert capped.root is not None
    body = json.dumps({"trailNameList": ["t" * 100]}).encode()
    headers = signed_headers(capped, capped.root, body, cloudtrail_headers("DescribeTrails"))
    headers.update({"Content-Length": str(len(body)), "Expect": "100-continue"})
    busy = [connect(capped.endpoint) for _ in range(CAP)]
    try:
        for sock in busy:
            sock.sendall(request_head("POST", "/", headers))
        for sock in busy:
            # "100 Continue" is sent when the app starts reading the body: the request is in progress.
            assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
            sock.sendall(body[:10])
        with connect(capped.endpoint) as newcomer:
            answer = read_until_closed(newcomer)
        assert answer.startswith(b"HTTP/1.1 503 "), answer
        assert answer.endswith(b"all 20 connections are busy; retry shortly")
        assert all(still_open(s) for s in busy)
    finally:
        for sock in busy:
            sock.close()
    assert wait_for(lambda: httpx.get(capped.endpoint + "/health", timeout=10).status_code == 200, "health")
