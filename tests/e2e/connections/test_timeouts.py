"""Slow and silent clients are cut off (OPENTRAIL_HEADER_TIMEOUT, OPENTRAIL_KEEP_ALIVE_TIMEOUT and
OPENTRAIL_BODY_TIMEOUT are 1 s on this folder's server) while health probes keep being answered: a
slowloris, idle sockets, a stalled or dripping body, an idle keep-alive connection, oversized headers."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from tests.support.connections import (
    connect,
    dropped,
    elapsed,
    read_response,
    read_until_closed,
    request_head,
    requests_by_status,
    samples,
)
from tests.support.protocol import cloudtrail_headers, signed_headers
from tests.support.server import Credentials, Server

TIMEOUT = 1.0  # the folder's server's timeouts
# How late a close may come on a busy two-core machine; a close before the timeout is always wrong.
LATE = 4.0
CLIENTS = 50


async def slowloris(server: Server, started: float) -> tuple[float, bytes]:
    """Send a request's headers a byte at a time, 0.1 s apart, never finishing; return when (seconds
    after ``started``) and with what the server closed the connection."""
    port = int(server.endpoint.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.ensure_future(reader.read())  # everything until the server closes
    try:
        for byte in request_head("GET", "/health", {"X-Padding": "x" * 1000})[:-2]:
            if answer.done() or writer.is_closing():
                break
            writer.write(bytes([byte]))
            await asyncio.wait([answer], timeout=0.1)
        closed = await asyncio.wait_for(answer, LATE)
    except ConnectionError:
        closed = b""
    finally:
        answer.cancel()
        writer.close()
    return time.monotonic() - started, closed


async def probe_health(server: Server, until: asyncio.Event) -> list[float]:
    """GET /health every 50 ms until ``until`` is set; the latency of each."""
    latencies = []
    async with httpx.AsyncClient(timeout=10) as client:
        while not until.is_set():
            begun = time.monotonic()
            response = await client.get(server.endpoint + "/health")
            assert response.status_code == 200
            latencies.append(time.monotonic() - begun)
            await asyncio.sleep(0.05)
    return latencies


def test_a_slowloris_is_cut_off_after_the_header_timeout_and_health_stays_answered(server: Server) -> None:
    before = dropped(server.endpoint, "header_timeout")

    async def attack() -> tuple[list[tuple[float, bytes]], list[float]]:
        done = asyncio.Event()
        probes = asyncio.create_task(probe_health(server, done))
        started = time.monotonic()
        closed = await asyncio.gather(*(slowloris(server, started) for _ in range(CLIENTS)))
        done.set()
        return closed, await probes

    closed, latencies = asyncio.run(attack())
    for when, answer in closed:
        assert TIMEOUT * 0.9 <= when <= TIMEOUT + LATE, when
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"request headers not complete within 1 s" in answer
    assert latencies, "no health probe was answered during the attack"
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    assert dropped(server.endpoint, "header_timeout") - before >= CLIENTS


def test_idle_sockets_are_closed_silently_after_the_header_timeout(server: Server) -> None:
    started = time.monotonic()
    sockets = [connect(server.endpoint, timeout=TIMEOUT + LATE) for _ in range(CLIENTS)]
    try:
        answers = [read_until_closed(sock) for sock in sockets]
        assert answers == [b""] * CLIENTS
        assert TIMEOUT * 0.9 <= elapsed(started) <= TIMEOUT + LATE
    finally:
        for sock in sockets:
            sock.close()


def test_an_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with connect(server.endpoint, timeout=TIMEOUT + LATE) as sock:
        sock.sendall(request_head("GET", "/health", {}))
        first = read_response(sock)
        assert first.startswith(b"HTTP/1.1 200 ")
        answered = time.monotonic()
        assert read_until_closed(sock) == b""
        assert TIMEOUT * 0.9 <= elapsed(answered) <= TIMEOUT + LATE


def test_a_keep_alive_connection_serves_the_next_request(server: Server) -> None:
    """The deadlines are per request: a connection used within them stays open."""
    with connect(server.endpoint) as sock:
        for _ in range(3):
            sock.sendall(request_head("GET", "/health", {}))
            assert read_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(TIMEOUT / 2)


def signed_head(server: Server, creds: Credentials, size: int) -> bytes:
    """A signed CloudTrail call's headers for a body of ``size`` bytes: one the server must read, as
    it would refuse an unsigned one from its headers alone."""
    body = json.dumps({"trailNameList": ["t" * size]}).encode()[:size]
    headers = signed_headers(server, creds, body, cloudtrail_headers("DescribeTrails"))
    return request_head("POST", "/", {**headers, "Content-Length": str(size)})


def test_a_stalled_body_is_answered_408_and_counted_as_a_client_abort(
    server: Server, creds: Credentials
) -> None:
    before = requests_by_status(samples(server.endpoint)).get("499", 0)
    with connect(server.endpoint, timeout=TIMEOUT + LATE) as sock:
        sock.sendall(signed_head(server, creds, 100) + b'{"trailNameList":')
        started = time.monotonic()
        answer = read_until_closed(sock)
        assert TIMEOUT * 0.9 <= elapsed(started) <= TIMEOUT + LATE
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b"request body stalled for 1 s")
    assert requests_by_status(samples(server.endpoint)).get("499", 0) == before + 1


def test_a_body_dripping_slower_than_the_minimum_rate_is_cut_off(server: Server, creds: Credentials) -> None:
    """A byte every 0.3 s never stalls for the body timeout, but is far below 500 bytes/s."""
    with connect(server.endpoint, timeout=TIMEOUT + LATE) as sock:
        sock.sendall(signed_head(server, creds, 1000))
        started = time.monotonic()
        answer = b""
        try:
            while not answer and elapsed(started) < TIMEOUT + LATE:
                sock.sendall(b" ")
                sock.settimeout(0.3)
                try:
                    answer = sock.recv(65536)
                except TimeoutError:
                    continue
        except ConnectionError:
            pass
        assert TIMEOUT * 0.9 <= elapsed(started) <= TIMEOUT + LATE
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b"request body arrived slower than 500 bytes/s")


def test_headers_over_the_limit_are_answered_431(server: Server) -> None:
    with connect(server.endpoint) as sock:
        sock.sendall(request_head("GET", "/health", {"X-Big": "x" * 100_000}))
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer
    assert answer.endswith(b"request line and headers exceed 65536 bytes")
