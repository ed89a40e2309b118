"""LookupEvents end to end: CloudTrail records sent through the native endpoint, and the calls and
checks the history tests read them back with."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from tests.support.server import Credentials, Server, iso

BASE = 1_704_067_200  # 2024-01-01T00:00:00Z: history replayed from the past, far from the audit events
WINDOW = {"StartTime": BASE - 86_400, "EndTime": BASE + 86_400}


def record(
    *,
    at: float = BASE,
    name: str = "RunInstances",
    source: str = "ec2.amazonaws.com",
    region: str = "us-east-1",
    read_only: bool | None = False,
    user: str = "alice",
    key: str = "AKIAALICE",
    resources: list[dict[str, str]] | None = None,
    category: str = "Management",
    **extra: Any,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": f"arn:aws:iam::123456789012:user/{user}",
            "accountId": "123456789012",
            "accessKeyId": key,
            "userName": user,
        },
        "eventTime": iso(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "test",
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "eventType": "AwsApiCall",
        "managementEvent": category == "Management",
        "recipientAccountId": "123456789012",
        "eventCategory": category,
    }
    if read_only is not None:
        rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec.update(extra)
    return rec


def lean(server: Server, creds: Credentials, region: str = "us-east-1") -> Client:
    return Client(server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None), region)


def send(server: Server, creds: Credentials, records: list[dict[str, Any]] | list[str]) -> None:
    """Ingest records through the native endpoint; strings are sent as the exact bytes given."""
    raw = [r if isinstance(r, str) else json.dumps(r) for r in records]
    body = ('{"Records": [' + ",".join(raw) + "]}").encode()
    with lean(server, creds) as conn:
        result = conn.ingest_records(body)
    assert result["failed"] == [], result
    assert result["accepted"] == len(records)


def lookup_error(conn: Client, params: dict[str, Any]) -> str:
    """Send raw parameters (botocore would refuse some client-side) and return the error text."""
    with pytest.raises(RemoteError) as info:
        conn.cloudtrail("LookupEvents", params)
    assert info.value.status == 400
    return f"{info.value.code}: {info.value.message}"


def ids(response: dict[str, Any]) -> list[str]:
    return [event["EventId"] for event in response["Events"]]


def all_pages(ct: Any, **params: Any) -> list[dict[str, Any]]:
    pages = list(ct.get_paginator("lookup_events").paginate(**params))
    assert "NextToken" not in pages[-1]
    return [event for page in pages for event in page["Events"]]
