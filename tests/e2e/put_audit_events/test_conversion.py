"""PutAuditEvents (cloudtrail-data) end to end: each entry's eventData converted to a CloudTrail record
and found in LookupEvents, a hundred in one call, and the AWS CLI's put-audit-events."""

from __future__ import annotations

import json
import re
import uuid

from tests.support.audit_events import checksum, entry, event_data, now_text
from tests.support.channels import REGION, Channel, lookup
from tests.support.server import Server

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_events_are_converted_and_enter_history(server: Server, channel: Channel) -> None:
    account = channel.creds.account_id
    source = f"conv-{uuid.uuid4().hex[:8]}.example.com"
    # Odd spacing, key order, escapes and a number spelling that a re-serialisation would change.
    verbatim = (
        '{ "version":"1.0", "eventSource":"SOURCE","eventName" : "Transfer",'
        '"userIdentity":{"type":"CustomUser","principalId":"bob","details":{"x":1.50}},'
        '"eventTime":"TIME","UID":"uid-1","recipientAccountId":"ACCOUNT",'
        '"requestParameters":{"note":"caf\\u00e9 \\"q\\""},"zExtra":[1, 2 ,3]}  '
    )
    verbatim = (
        verbatim.replace("SOURCE", source).replace("TIME", now_text(z=False)).replace("ACCOUNT", account)
    )
    plain = event_data(account, source=source, eventName="SignIn")
    result = channel.put(entry("first", verbatim), entry("second", plain, with_checksum=False))
    assert result["failed"] == []
    assert [s["id"] for s in result["successful"]] == ["first", "second"]
    ids = {s["id"]: s["eventID"] for s in result["successful"]}
    assert all(UUID.match(event_id) for event_id in ids.values())
    assert len(set(ids.values())) == 2

    events = lookup(server, channel.creds, "EventSource", source)
    assert {e["EventId"] for e in events} == set(ids.values())
    by_name = {e["EventName"]: e for e in events}
    transfer = by_name["Transfer"]
    assert transfer["EventId"] == ids["first"]
    assert transfer["EventSource"] == source
    text = transfer["CloudTrailEvent"]
    # The producer's eventData is kept byte for byte inside the record.
    assert '"eventData":' + verbatim + "}" in text
    record = json.loads(text)
    assert record["eventVersion"]
    assert record["eventCategory"] == "ActivityAuditLog"
    assert record["eventType"] == "ActivityLog"
    assert record["eventID"] == ids["first"]
    assert record["eventTime"].endswith("Z")
    assert record["eventTime"][:-1] == json.loads(verbatim)["eventTime"]
    assert record["awsRegion"] == REGION
    assert record["recipientAccountId"] == account
    assert record["metadata"]["channelARN"] == channel.arn
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", record["metadata"]["ingestionTime"])
    assert record["eventData"] == json.loads(verbatim)
    assert list(record)[-1] == "eventData"
    second = json.loads(by_name["SignIn"]["CloudTrailEvent"])
    assert second["eventData"] == plain
    assert second["eventTime"] == plain["eventTime"]
    # Also found by event name and event id, as management events of the owner.
    assert ids["first"] in {e["EventId"] for e in lookup(server, channel.creds, "EventName", "Transfer")}
    assert [e["EventId"] for e in lookup(server, channel.creds, "EventId", ids["second"])] == [ids["second"]]


def test_hundred_events_in_one_call(server: Server, channel: Channel) -> None:
    source = f"bulk-{uuid.uuid4().hex[:8]}.example.com"
    entries = [entry(f"e{i:03d}", event_data(channel.creds.account_id, source=source)) for i in range(100)]
    result = channel.put(*entries)
    assert result["failed"] == []
    assert [s["id"] for s in result["successful"]] == [f"e{i:03d}" for i in range(100)]
    ct = server.client("cloudtrail", channel.creds, REGION)
    paginator = ct.get_paginator("lookup_events")
    found = [
        event["EventId"]
        for page in paginator.paginate(
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": source}]
        )
        for event in page["Events"]
    ]
    assert sorted(found) == sorted(s["eventID"] for s in result["successful"])


def test_aws_cli_put_audit_events(server: Server, channel: Channel) -> None:
    source = f"cli-{uuid.uuid4().hex[:8]}.example.com"
    text = json.dumps(event_data(channel.creds.account_id, source=source))
    events = json.dumps([{"id": "cli-1", "eventData": text, "eventDataChecksum": checksum(text)}])
    result = server.aws(
        "cloudtrail-data",
        "put-audit-events",
        "--channel-arn",
        channel.arn,
        "--audit-events",
        events,
        creds=channel.creds,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["failed"] == []
    assert [s["id"] for s in output["successful"]] == ["cli-1"]
    stored = lookup(server, channel.creds, "EventSource", source)
    assert [e["EventId"] for e in stored] == [output["successful"][0]["eventID"]]
    assert text in stored[0]["CloudTrailEvent"]

    result = server.aws(
        "cloudtrail-data",
        "put-audit-events",
        "--channel-arn",
        "arn:aws:cloudtrail:us-east-1:1:channel/x",
        "--audit-events",
        events,
        creds=channel.creds,
    )
    assert result.returncode == 255
    assert "InvalidChannelARN" in result.stderr
