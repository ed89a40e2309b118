"""LookupEvents calls are audited, with the caller's identity, whether they succeed or fail."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.support.server import Credentials, Server


def audit_events(ct: Any, name: str, expect: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Audit records of ``name`` calls; reads are audited asynchronously, so poll briefly."""
    deadline = time.monotonic() + timeout
    while True:
        response = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        found = [json.loads(e["CloudTrailEvent"]) for e in response["Events"]]
        found = [r for r in found if r["eventSource"] == "cloudtrail.amazonaws.com"]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_lookups_are_audited_with_the_callers_identity(server: Server, account: Credentials) -> None:
    ct = server.client("cloudtrail", account)
    ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "nobody"}], MaxResults=7
    )
    with pytest.raises(ct.exceptions.InvalidMaxResultsException):
        ct.lookup_events(MaxResults=99)
    records = audit_events(ct, "LookupEvents", expect=2)
    assert len(records) >= 2
    failed = next(r for r in records if "errorCode" in r)
    good = next(r for r in records if "errorCode" not in r and r["requestParameters"].get("maxResults") == 7)
    for rec in (failed, good):
        assert rec["eventSource"] == "cloudtrail.amazonaws.com"
        assert rec["readOnly"] is True
        assert rec["awsRegion"] == "us-east-1"
        assert rec["recipientAccountId"] == account.account_id
        assert rec["userIdentity"]["accessKeyId"] == account.access_key_id
        assert rec["userIdentity"]["accountId"] == account.account_id
        assert rec["eventCategory"] == "Management"
    assert failed["errorCode"] == "InvalidMaxResultsException"
    assert "got 99" in failed["errorMessage"]
    assert good["requestParameters"]["lookupAttributes"] == [
        {"attributeKey": "Username", "attributeValue": "nobody"}
    ]
    # The element of an audit event names the caller.
    response = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": account.access_key_id}]
    )
    assert response["Events"]
    assert {e["EventSource"] for e in response["Events"]} == {"cloudtrail.amazonaws.com"}
    assert {e["Username"] for e in response["Events"]} == {"root"}
