"""One budget of request-body bytes held in memory across every request in flight
(``OPENTRAIL_MAX_INFLIGHT_BODY_BYTES``), on a server of its own with a small one: while a request that
declared most of it is still sending its body, another that cannot get room is answered 503 at once,
in its service's shape (cloudtrail-data's ServiceUnavailableException, S3's SlowDown), and gets in once
the first is done."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.protocol import check_error, ingest, signed_headers
from tests.support.server import Credentials, Server, make_server, management_record

BUDGET = 1_000_000


@pytest.fixture(scope="module")
def small(request: pytest.FixtureRequest) -> Iterator[Server]:
    env = {"OPENTRAIL_MAX_BODY_BYTES": str(BUDGET), "OPENTRAIL_MAX_INFLIGHT_BODY_BYTES": str(BUDGET)}
    yield from make_server(env)


def records(account: str, size: int) -> bytes:
    """An IngestRecords body of exactly ``size`` bytes."""
    body = json.dumps({"Records": [management_record(account)]}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def test_a_request_without_room_is_told_to_retry(small: Server) -> None:
    creds: Credentials = small.new_account("budget")
    bucket = f"budget-{uuid.uuid4().hex[:8]}"
    small.create_bucket(bucket, creds)
    held = records(creds.account_id, 900_000)
    headers = signed_headers(
        small,
        creds,
        held,
        {"Content-Type": "application/json"},
        service="cloudtrail-data",
        path="/IngestRecords",
    )
    head = ["POST /IngestRecords HTTP/1.1", f"Host: 127.0.0.1:{small.port}", f"Content-Length: {len(held)}"]
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    with socket.create_connection(("127.0.0.1", small.port), timeout=30) as first:
        first.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))  # its body, later
        other = records(creds.account_id, 200_000)
        deadline = time.monotonic() + 10
        while (response := ingest(small, creds, other)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)  # until the first request's reservation is in place
        check_error(
            response, 503, "ServiceUnavailableException", "OPENTRAIL_MAX_INFLIGHT_BODY_BYTES", rest=True
        )
        client = small.client("s3", creds)
        with pytest.raises(client.exceptions.ClientError) as caught:
            client.put_object(Bucket=bucket, Key="k", Body=b"x" * 200_000)
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("SlowDown", "Please reduce your request rate.")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        first.sendall(held)
        answer = first.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert ingest(small, creds, other).status_code == 200
    assert httpx.get(f"{small.endpoint}/health").status_code == 200
