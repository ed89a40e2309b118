"""Connections (``server/connections.py``) in process: uvicorn serving a small app with ``opentrail
serve``'s connection options and 0.5 s timeouts. The slowloris, idle sockets, stalled bodies and the cap
are exercised on the real server in ``tests/e2e/connections/``; here, what must not be cut off (a server
that reads slowly, an answer before the body, pipelining, keep-alive) and a client that stops reading.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from opentrail.server.connections import MAX_HEADER_BYTES, SPARE_DESCRIPTORS, uvicorn_options
from opentrail.server.metrics import Metrics
from opentrail.settings import Settings
from tests.support.connections import connect, read_response, read_until_closed, request_head
from tests.support.loopback import serve_app
from tests.support.server import wait_for

TIMEOUT = 0.5
BIG = 16 * 1024 * 1024


async def length(request: Request) -> Response:
    """Reads the body after a pause longer than the body timeout: the server, not the client, is slow."""
    if "slow" in request.query_params:
        await asyncio.sleep(3 * TIMEOUT)
    return PlainTextResponse(str(len(await request.body())))


async def refuse(_: Request) -> Response:
    """Answers without reading the body, as the edge refuses a declared length over its limit."""
    return PlainTextResponse("too large", status_code=400)


async def big(_: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(BIG // 65536):
            yield b"x" * 65536

    return StreamingResponse(chunks())


APP = Starlette(
    routes=[
        Route("/length", length, methods=["POST"]),
        Route("/refuse", refuse, methods=["POST"]),
        Route("/big", big),
        Route("/health", lambda _: PlainTextResponse("ok")),
    ]
)


@pytest.fixture(scope="module")
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture(scope="module")
def endpoint(metrics: Metrics) -> Iterator[str]:
    settings = Settings(header_timeout=TIMEOUT, keep_alive_timeout=TIMEOUT, body_timeout=TIMEOUT)
    yield from serve_app(APP, lifespan="off", **uvicorn_options(settings, metrics))


@pytest.fixture(scope="module")
def capped() -> Iterator[str]:
    """Room for two connections."""
    settings = Settings(header_timeout=30, keep_alive_timeout=30, max_connections=2)
    yield from serve_app(APP, lifespan="off", **uvicorn_options(settings, Metrics()))


def dropped(metrics: Metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("opentrail_connections_dropped_total", {"reason": reason}) or 0


def test_a_server_slow_to_read_the_body_is_not_a_client_stall(endpoint: str) -> None:
    """uvicorn stops reading past 64 KiB the app has not taken: the body deadline waits for it."""
    body = b"x" * (4 * 1024 * 1024)
    with connect(endpoint) as sock:
        sock.sendall(request_head("POST", "/length?slow=1", {"Content-Length": str(len(body))}) + body)
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert answer.endswith(str(len(body)).encode())


def test_an_answer_before_the_body_then_the_body_then_the_next_request(endpoint: str) -> None:
    """The rest of a refused body is not the next request's headers (it is larger than their limit)."""
    size = 4 * MAX_HEADER_BYTES
    with connect(endpoint) as sock:
        sock.sendall(request_head("POST", "/refuse", {"Content-Length": str(size)}))
        assert read_response(sock).startswith(b"HTTP/1.1 400 ")
        sock.sendall(b"x" * size)
        sock.sendall(request_head("GET", "/health", {}))
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")


def test_pipelined_requests_are_answered_in_turn(endpoint: str) -> None:
    """The second request is in progress once the first is answered: the rest of its body (larger
    than the header limit) is its body, not the headers of a third."""
    size = 4 * MAX_HEADER_BYTES
    with connect(endpoint) as sock:
        sock.sendall(request_head("POST", "/length?slow=1", {"Content-Length": "3"}) + b"abc")
        sock.sendall(request_head("POST", "/length", {"Content-Length": str(size)}) + b"x" * 10)
        assert read_response(sock).endswith(b"\r\n\r\n3")
        sock.sendall(b"x" * (size - 10))
        assert read_response(sock).endswith(b"\r\n\r\n" + str(size).encode())


def test_a_connection_busy_with_a_pipelined_request_is_not_closed_to_make_room(capped: str) -> None:
    with connect(capped) as busy:
        for _ in range(2):
            busy.sendall(request_head("POST", "/length?slow=1", {"Content-Length": "3"}) + b"abc")
        assert read_response(busy).endswith(b"\r\n\r\n3")
        # The second request is in progress: a third connection closes the idle one instead.
        with connect(capped) as idle, connect(capped) as newcomer:
            assert read_until_closed(idle) == b""
            assert read_response(busy).endswith(b"\r\n\r\n3")
            newcomer.sendall(request_head("GET", "/health", {}))
            assert read_response(newcomer).endswith(b"\r\n\r\nok")


def test_a_kept_alive_connection_waits_for_headers_anew_each_request(endpoint: str) -> None:
    with connect(endpoint) as sock:
        for _ in range(3):
            time.sleep(TIMEOUT / 2)
            sock.sendall(request_head("GET", "/health", {}))
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started >= TIMEOUT * 0.9


def test_a_client_that_stops_reading_its_answer_is_cut_off(endpoint: str, metrics: Metrics) -> None:
    before = dropped(metrics, "send_timeout")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = endpoint.removeprefix("http://").split(":")
    sock.connect((host, int(port)))
    with sock:
        sock.sendall(request_head("GET", "/big", {}))
        wait_for(lambda: dropped(metrics, "send_timeout") > before, "the send timeout", timeout=10)
        sock.settimeout(10)
        received = read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert len(received) < BIG


def test_open_connections_are_counted(endpoint: str, metrics: Metrics) -> None:
    def count() -> float:
        return metrics.registry.get_sample_value("opentrail_connections_open") or 0

    wait_for(lambda: count() == 0, "earlier connections to close", timeout=10)
    sockets = [connect(endpoint) for _ in range(5)]
    try:
        wait_for(lambda: count() == 5, "five connections counted", timeout=10)
    finally:
        for sock in sockets:
            sock.close()
    wait_for(lambda: count() == 0, "the five to be forgotten", timeout=10)


def run_with_open_file_limits(soft: int, hard: int, max_connections: int) -> subprocess.CompletedProcess[str]:
    """``reserve_descriptors(max_connections)`` in a process of its own, started under these limits."""
    code = (
        "import resource, sys\n"
        "from opentrail.errors import ConfigError\n"
        "from opentrail.server.connections import reserve_descriptors\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard}))\n"
        "try:\n"
        f"    reserve_descriptors({max_connections})\n"
        "except ConfigError as exc:\n"
        "    sys.exit(str(exc))\n"
        "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_soft_open_file_limit_is_raised_to_fit_the_connections() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1000 + SPARE_DESCRIPTORS:
        pytest.skip(f"the hard limit on open files here is {hard}")
    done = run_with_open_file_limits(256, hard, 1000)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 1000 + SPARE_DESCRIPTORS


def test_a_hard_open_file_limit_too_low_names_the_setting_to_lower() -> None:
    done = run_with_open_file_limits(256, 512, 1000)
    assert done.returncode == 1
    assert "OPENTRAIL_MAX_CONNECTIONS=1000 needs 1256 open files, but the hard limit is 512" in done.stderr
    assert "lower OPENTRAIL_MAX_CONNECTIONS to 256 or less" in done.stderr
