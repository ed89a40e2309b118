"""A client that goes away before its request body is complete is the client's doing: the call is
counted with status 499 (nginx's "client closed request"), never as a 5xx, and leaves no traceback."""

from __future__ import annotations

import json

import pytest

from tests.support.connections import connect, request_head, requests_by_status, samples
from tests.support.protocol import cloudtrail_headers, signed_headers
from tests.support.server import Credentials, Server, wait_for


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_client_that_disconnects_mid_body_is_counted_as_an_abort(
    server: Server, creds: Credentials, signed: bool
) -> None:
    body = json.dumps({"trailNameList": ["t" * 4000]}).encode()
    headers = cloudtrail_headers("DescribeTrails")
    if signed:
        headers = signed_headers(server, creds, body, headers)
    else:
        headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/garbage"
    headers["Content-Length"] = str(len(body))
    log_start = len((server.data_dir / "server.log").read_bytes())
    before = requests_by_status(samples(server.endpoint))

    with connect(server.endpoint) as sock:
        sock.sendall(request_head("POST", "/", headers) + body[: len(body) // 2])

    def counted() -> dict[str, float]:
        after = requests_by_status(samples(server.endpoint))
        return {status: n - before.get(status, 0) for status, n in after.items() if n != before.get(status)}

    found = wait_for(counted, "the call to be counted", timeout=10)
    if signed:
        assert found == {"499": 1}
    else:
        # 499, or a 403 if the server refused the call from its headers before reading the body.
        assert found in ({"499": 1}, {"403": 1}), found
    log = (server.data_dir / "server.log").read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in log, log
    assert "unexpected failure" not in log, log
