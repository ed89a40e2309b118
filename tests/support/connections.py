"""Raw sockets for the connection tests: requests written byte by byte, cut short or never finished,
the way slow or vanished clients send them, and the server's metrics read back as numbers."""

from __future__ import annotations

import socket
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def request_head(method: str, path: str, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """The request line and headers, ending with the blank line; a Host header unless one is given."""
    lines = [f"{method} {path} HTTP/1.1"]
    if not any(name.lower() == "host" for name in headers):
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def connect(endpoint: str, timeout: float = 10.0) -> socket.socket:
    host, port = endpoint.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def read_response(sock: socket.socket) -> bytes:
    """One answer with a Content-Length: its status line, headers and body."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536) or b"EOF"
        assert not received.endswith(b"EOF"), received
    head, _, body = received.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    ]
    while len(body) < int(lengths[0]):
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def samples(endpoint: str) -> Samples:
    """Every sample of ``GET /metrics``, keyed by name and labels."""
    text = httpx.get(endpoint + "/metrics", timeout=10).text
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] = sample.value
    return found


def requests_by_status(found: Samples) -> dict[str, float]:
    """``opentrail_requests_total`` summed over operations, by status."""
    totals: dict[str, float] = {}
    for (name, labels), value in found.items():
        if name == "opentrail_requests_total":
            status = dict(labels)["status"]
            totals[status] = totals.get(status, 0) + value
    return totals


def dropped(endpoint: str, reason: str) -> float:
    """Connections the server closed early for ``reason`` (``opentrail_connections_dropped_total``)."""
    return samples(endpoint).get(("opentrail_connections_dropped_total", frozenset({("reason", reason)})), 0)


def elapsed(since: float) -> float:
    return time.monotonic() - since
