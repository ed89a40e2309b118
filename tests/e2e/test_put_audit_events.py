"""PutAuditEvents (cloudtrail-data) end to end: conversion, per-entry failures, request errors, limits,
channel status, account isolation, the AWS CLI, and the converted events in LookupEvents."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from tests.support.audit_events import DROP, checksum, entry, event_data, now_text
from tests.support.server import Credentials, Server

REGION = "us-east-1"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def lookup(
    server: Server, creds: Credentials, key: str, value: str, region: str = REGION
) -> list[dict[str, Any]]:
    ct = server.client("cloudtrail", creds, region)
    events: list[dict[str, Any]] = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]
    )["Events"]
    return events


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


class Channel:
    def __init__(self, server: Server, creds: Credentials, name: str = "app", region: str = REGION) -> None:
        self.server = server
        self.creds = creds
        self.ct = server.client("cloudtrail", creds, region)
        self.data = server.client("cloudtrail-data", creds, region)
        self.arn: str = self.ct.create_channel(
            Name=name,
            Source="Custom",
            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "example-event-data-store"}],
        )["ChannelArn"]
        self.id = self.arn.rsplit("/", 1)[1]

    def put(self, *entries: dict[str, str], channel: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.data.put_audit_events(
            auditEvents=list(entries), channelArn=channel or self.arn
        )
        return result


@pytest.fixture
def channel(server: Server, account: Credentials) -> Channel:
    return Channel(server, account)


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


def test_channel_id_is_accepted_in_place_of_the_arn(channel: Channel) -> None:
    result = channel.put(entry("by-id", event_data(channel.creds.account_id)), channel=channel.id)
    assert [s["id"] for s in result["successful"]] == ["by-id"]


def test_mixed_batch_reports_each_failure_and_keeps_the_good_entries(
    server: Server, channel: Channel
) -> None:
    account = channel.creds.account_id
    source = f"mixed-{uuid.uuid4().hex[:8]}.example.com"

    def data(**changes: Any) -> dict[str, Any]:
        return event_data(account, source=source, **changes)

    identity = {"type": "CustomUser", "principalId": "alice"}
    good = {
        "good-1": entry("good-1", data()),
        "good-limits": entry(
            "good-limits",
            data(
                version="v" * 256,
                eventName="n" * 1024,
                UID="u" * 1024,
                errorCode="e" * 256,
                errorMessage="m" * 256,
                userIdentity={"type": "t" * 128, "principalId": "p" * 1024},
                requestParameters={"blob": "x" * (100 * 1024 - 12)},
            ),
        ),
        "good-no-z": entry("good-no-z", data(eventTime=now_text(z=False))),
        "good-minimal": entry(
            "good-minimal",
            {
                "version": "1",
                "userIdentity": identity,
                "eventSource": source,
                "eventName": "Minimal",
                "eventTime": now_text(),
                "UID": "m-1",
                "recipientAccountId": account,
            },
        ),
    }
    text = json.dumps(data())
    bad: dict[str, tuple[dict[str, str], str, str]] = {
        "checksum-wrong": (
            {"id": "checksum-wrong", "eventData": text, "eventDataChecksum": checksum(text + " ")},
            "InvalidChecksum",
            "eventDataChecksum",
        ),
        "checksum-garbage": (
            {"id": "checksum-garbage", "eventData": text, "eventDataChecksum": "not base64!"},
            "InvalidChecksum",
            "eventDataChecksum",
        ),
        "not-json": (entry("not-json", "{not json"), "InvalidData", "not valid JSON"),
        "json-array": (entry("json-array", "[1, 2]"), "InvalidData", "JSON object"),
        "json-string": (entry("json-string", '"text"'), "InvalidData", "JSON object"),
        "empty": (entry("empty", ""), "InvalidData", "eventData"),
        "time-space": (
            entry("time-space", data(eventTime="2024-01-01 00:00:00")),
            "InvalidData",
            "eventTime",
        ),
        "time-fraction": (
            entry("time-fraction", data(eventTime="2024-01-01T00:00:00.123Z")),
            "InvalidData",
            "eventTime",
        ),
        "time-offset": (
            entry("time-offset", data(eventTime="2024-01-01T00:00:00+01:00")),
            "InvalidData",
            "eventTime",
        ),
        "time-month": (
            entry("time-month", data(eventTime="2024-13-01T00:00:00Z")),
            "InvalidData",
            "eventTime",
        ),
        "name-number": (
            entry("name-number", data(eventName=42)),
            "InvalidData",
            "eventName must be a string",
        ),
        "identity-string": (
            entry("identity-string", data(userIdentity="alice")),
            "InvalidData",
            "userIdentity",
        ),
        "params-array": (
            entry("params-array", data(requestParameters=[1])),
            "InvalidData",
            "requestParameters",
        ),
        "recipient": (
            entry("recipient", data(recipientAccountId="111122223333")),
            "InvalidRecipient",
            account,
        ),
        "time-newline": (
            entry("time-newline", data(eventTime="2024-01-01T00:00:00\n")),
            "InvalidData",
            "eventTime",
        ),
        "too-deep": (
            entry("too-deep", '{"a":' + "[" * 50_000 + "]" * 50_000 + "}"),
            "InvalidData",
            "nested too deeply",
        ),
    }
    for field in (
        "version",
        "userIdentity",
        "eventSource",
        "eventName",
        "eventTime",
        "UID",
        "recipientAccountId",
    ):
        key = f"missing-{field}"
        bad[key] = (entry(key, data(**{field: DROP})), "FieldNotFound", field)
    bad["missing-type"] = (
        entry("missing-type", data(userIdentity={"principalId": "alice"})),
        "FieldNotFound",
        "userIdentity.type",
    )
    bad["missing-principal"] = (
        entry("missing-principal", data(userIdentity={"type": "CustomUser"})),
        "FieldNotFound",
        "userIdentity.principalId",
    )
    bad["null-name"] = (entry("null-name", data(eventName=None)), "FieldNotFound", "eventName")
    too_long = {
        "version": ("v" * 257, "256"),
        "userAgent": ("a" * 1025, "1024"),
        "eventSource": ("s" * 1025, "1024"),
        "eventName": ("n" * 1025, "1024"),
        "UID": ("u" * 1025, "1024"),
        "errorCode": ("e" * 257, "256"),
        "errorMessage": ("m" * 257, "256"),
        "requestParameters": ({"blob": "x" * (100 * 1024)}, "102400 bytes"),
        "responseElements": ({"blob": "x" * (100 * 1024)}, "102400 bytes"),
        "additionalEventData": ({"blob": "x" * (28 * 1024)}, "28672 bytes"),
    }
    for field, (value, limit) in too_long.items():
        key = f"long-{field}"
        bad[key] = (entry(key, data(**{field: value})), "FieldTooLong", limit)
    bad["long-type"] = (
        entry("long-type", data(userIdentity={"type": "t" * 129, "principalId": "p"})),
        "FieldTooLong",
        "userIdentity.type",
    )
    bad["long-principal"] = (
        entry("long-principal", data(userIdentity={"type": "t", "principalId": "p" * 1025})),
        "FieldTooLong",
        "userIdentity.principalId",
    )

    entries = [*good.values(), *(item for item, _, _ in bad.values())]
    assert len(entries) <= 100
    result = channel.put(*entries)
    assert sorted(s["id"] for s in result["successful"]) == sorted(good)
    failed = {f["id"]: f for f in result["failed"]}
    assert sorted(failed) == sorted(bad)
    for key, (_, code, fragment) in bad.items():
        assert failed[key]["errorCode"] == code, (key, failed[key])
        assert fragment in failed[key]["errorMessage"], (key, failed[key])
    for key in too_long:
        assert key in failed[f"long-{key}"]["errorMessage"]

    stored = lookup(server, channel.creds, "EventSource", source)
    assert {e["EventId"] for e in stored} == {s["eventID"] for s in result["successful"]}


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


@pytest.mark.parametrize(
    "ref",
    [
        "arn:aws:cloudtrail:us-east-1:123:channel/abc",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/abc",
        "arn:aws:s3:::bucket",
        "arn:nonsense",
        "not/an:id",
    ],
)
def test_malformed_channel_arn(channel: Channel, ref: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        channel.put(entry("a", event_data(channel.creds.account_id)), channel=ref)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("InvalidChannelARN", 400)
    assert "channel" in message


def test_unknown_channel(channel: Channel) -> None:
    account = channel.creds.account_id
    missing_id = "00000000-0000-0000-0000-000000000000"
    for ref in (f"arn:aws:cloudtrail:{REGION}:{account}:channel/{missing_id}", missing_id):
        with pytest.raises(ClientError) as excinfo:
            channel.put(entry("a", event_data(account)), channel=ref)
        code, message, status = error_of(excinfo)
        assert (code, status) == ("ChannelNotFound", 400)
        assert ref in message
    # A channel lives in its region: the same ARN called from another region is not found.
    west = channel.server.client("cloudtrail-data", channel.creds, "us-west-2")
    with pytest.raises(ClientError) as excinfo:
        west.put_audit_events(auditEvents=[entry("a", event_data(account))], channelArn=channel.arn)
    assert error_of(excinfo)[0] == "ChannelNotFound"


def test_other_accounts_cannot_put_into_a_channel(server: Server, channel: Channel) -> None:
    owner = channel.creds
    intruder = server.new_account("intruder")
    data = server.client("cloudtrail-data", intruder, REGION)
    source = f"iso-{uuid.uuid4().hex[:8]}.example.com"
    events = [entry("a", event_data(owner.account_id, source=source))]
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=channel.arn)
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ChannelInsufficientPermission", 403)
    assert intruder.account_id in message
    # The answer is the same whether or not the other account has such a channel.
    missing = f"arn:aws:cloudtrail:{REGION}:{owner.account_id}:channel/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=missing)
    assert error_of(excinfo)[:1] == ("ChannelInsufficientPermission",)
    # By bare id the channel is looked up in the caller's own account, where it does not exist.
    with pytest.raises(ClientError) as excinfo:
        data.put_audit_events(auditEvents=events, channelArn=channel.id)
    assert error_of(excinfo)[0] == "ChannelNotFound"

    assert lookup(server, owner, "EventSource", source) == []
    # The owner's accepted events stay out of the intruder's history.
    accepted = channel.put(*events)["successful"][0]["eventID"]
    assert [e["EventId"] for e in lookup(server, owner, "EventSource", source)] == [accepted]
    assert lookup(server, intruder, "EventSource", source) == []
    assert lookup(server, intruder, "EventId", accepted) == []


def test_ingestion_status_follows_each_call(channel: Channel) -> None:
    account = channel.creds.account_id
    assert channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"] == {}
    first = channel.put(entry("ok", event_data(account)))["successful"][0]["eventID"]
    status = channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"]
    assert status["LatestIngestionSuccessEventID"] == first
    assert status["LatestIngestionAttemptEventID"] == first
    assert "LatestIngestionErrorCode" not in status
    assert status["LatestIngestionSuccessTime"] == status["LatestIngestionAttemptTime"]
    assert abs(status["LatestIngestionSuccessTime"].timestamp() - datetime.now(UTC).timestamp()) < 60

    result = channel.put(entry("ok2", event_data(account)), entry("bad", event_data(account, UID=DROP)))
    second = result["successful"][0]["eventID"]
    status = channel.ct.get_channel(Channel=channel.id)["IngestionStatus"]
    assert status["LatestIngestionSuccessEventID"] == second
    assert status["LatestIngestionErrorCode"] == "FieldNotFound"
    assert status["LatestIngestionAttemptEventID"] not in (first, second)

    with pytest.raises(ClientError):
        channel.put(entry("dup", event_data(account)), entry("dup", event_data(account)))
    status = channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"]
    assert status["LatestIngestionErrorCode"] == "DuplicatedAuditEventId"
    assert status["LatestIngestionSuccessEventID"] == second


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
