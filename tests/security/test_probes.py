"""The unsigned routes, /health and /metrics: answered to GET and HEAD only, every other method or a
signature sent there goes to the signed API and is refused; and what they (and the server's log) show
never includes a secret, an account's names or an attacker's input (no label grows with what clients
send)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.connections import samples
from tests.support.holdings import Holdings
from tests.support.server import Server
from tests.support.wire import Wire, json_error, log_since


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_get_and_head_are_answered_unsigned(wire: Wire, path: str) -> None:
    got = wire.send(path, "GET", path)
    head = wire.send(path, "HEAD", path)
    assert (got.status, head.status) == (200, 200)
    assert head.body == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if path == "/health":
        assert got.json() == {"status": "ok"}
        assert head.headers["content-length"] == got.headers["content-length"]


@pytest.mark.parametrize("path", ["/health", "/metrics"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_api_calls_and_need_a_signature(wire: Wire, path: str, method: str) -> None:
    json_error(wire.send(path, method, path, body=b"{}"), 403, "MissingAuthenticationTokenException")


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"Authorization": "AWS4-HMAC-SHA256 garbage"}, ""),
        ({}, "?X-Amz-Credential=garbage"),
        ({}, "?AWSAccessKeyId=AKIANOSUCHKEY0000000&Signature=x&Expires=1"),
    ],
    ids=["authorization", "v4-query", "v2-query"],
)
def test_a_signature_sent_to_health_is_checked(wire: Wire, headers: dict[str, str], query: str) -> None:
    """A signed request to /health is an S3 request for a bucket named "health": verified, never
    waved through as a probe."""
    answer = wire.send("/health", "GET", "/health" + query, headers)
    assert answer.status is not None
    assert 400 <= answer.status < 500, answer
    assert b'"status":"ok"' not in answer.body


def test_metrics_labels_do_not_grow_with_what_clients_send(server: Server, wire: Wire) -> None:
    before = samples(server.endpoint)
    sent = []
    for _ in range(30):
        junk = uuid.uuid4().hex
        sent.append(junk)
        wire.send(
            "junk", "POST", f"/{junk}", {"X-Amz-Target": f"{junk}.{junk}", "Authorization": f"AWS4 {junk}"}
        )
        wire.send("junk", "POST", f"/IngestRecords?{junk}=1", {"Content-Type": junk})
    after = samples(server.endpoint)
    text = wire.send("/metrics", "GET", "/metrics").text
    assert not [junk for junk in sent if junk in text]
    assert len(set(after) - set(before)) <= 4, sorted(set(after) - set(before))


def test_no_secret_or_name_shows_in_metrics_or_the_log(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    text = wire.send("/metrics", "GET", "/metrics").text
    log = log_since(server, 0)
    for holdings in (victim, intruder):
        for secret in (
            holdings.creds.secret,
            holdings.creds.access_key_id,
            holdings.account,
            holdings.bucket,
            holdings.trail,
        ):
            assert secret not in text
        assert holdings.creds.secret not in log
