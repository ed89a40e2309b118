"""Errors of the whole request: duplicate ids, too many or too large entries, bodies boto3 would not
send, a missing channelArn and a bad externalId."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from tests.support.audit_events import entry, event_data
from tests.support.channels import REGION, Channel, error_of
from tests.support.server import Credentials, Server


def raw_put(server: Server, creds: Credentials, query: str, body: bytes) -> tuple[int, str, dict[str, Any]]:
    """A signed PutAuditEvents with an arbitrary body, for inputs boto3 refuses to send."""
    url = f"{server.endpoint}/PutAuditEvents{query}"
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(BotoCredentials(creds.access_key_id, creds.secret), "cloudtrail-data", REGION).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(
        prepared.url, data=body, headers=dict(prepared.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, "", json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("x-amzn-ErrorType", ""), json.loads(err.read())


def test_request_level_errors(server: Server, channel: Channel) -> None:
    account = channel.creds.account_id
    good = event_data(account)
    with pytest.raises(ClientError) as excinfo:
        channel.put(entry("same", good), entry("other", good), entry("same", good))
    code, message, status = error_of(excinfo)
    assert (code, status) == ("DuplicatedAuditEventId", 400)
    assert "'same'" in message

    with pytest.raises(ClientError) as excinfo:
        channel.put(*(entry(f"e{i}", good) for i in range(101)))
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "between 1 and 100" in message
    assert "101" in message

    for bad_id in ("bad id!", "newline\n", "x" * 129):
        with pytest.raises(ClientError) as excinfo:
            channel.put(entry(bad_id, good))
        code, message, _ = error_of(excinfo)
        assert code == "ValidationException"
        assert repr(bad_id)[:40] in message

    # 1 MB per call, counted on the request body.
    big = json.dumps(event_data(account, requestParameters={"blob": "x" * 90_000}))
    with pytest.raises(ClientError) as excinfo:
        channel.put(*(entry(f"big{i}", big) for i in range(12)))
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "1 MB" in message

    query = "?channelArn=" + quote(channel.arn, safe="")
    status, code, body = raw_put(server, channel.creds, query, b"{not json")
    assert (status, code) == (400, "SerializationException")
    assert "not valid JSON" in body["message"]
    status, code, body = raw_put(server, channel.creds, query, b'{"auditEvents": "nope"}')
    assert (status, code) == (400, "ValidationException")
    assert "auditEvents" in body["message"]
    status, code, body = raw_put(
        server, channel.creds, query, b'{"auditEvents": [{"id": "a", "eventData": "\xff"}]}'
    )
    assert (status, code) == (400, "SerializationException")
    assert "UTF-8" in body["message"]
    deep = b'{"auditEvents": [], "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    status, code, body = raw_put(server, channel.creds, query, deep)
    assert (status, code) == (400, "SerializationException")
    assert "nested too deeply" in body["message"]
    status, code, body = raw_put(server, channel.creds, query, b'{"auditEvents": []}')
    assert (status, code) == (400, "ValidationException")
    status, code, body = raw_put(
        server, channel.creds, "", json.dumps({"auditEvents": [entry("a", good)]}).encode()
    )
    assert (status, code) == (400, "ValidationException")
    assert "channelArn" in body["message"]

    with pytest.raises(ClientError) as excinfo:
        channel.data.put_audit_events(
            auditEvents=[entry("x", good)], channelArn=channel.arn, externalId="no spaces!"
        )
    code, message, _ = error_of(excinfo)
    assert code == "ValidationException"
    assert "externalId" in message
    ok = channel.data.put_audit_events(
        auditEvents=[entry("x", good)], channelArn=channel.arn, externalId="ext-id:1"
    )
    assert [s["id"] for s in ok["successful"]] == ["x"]
