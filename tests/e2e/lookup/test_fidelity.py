"""Records come out of event history as they went in: the exact bytes sent, and no page broken by
bytes that are not UTF-8 in a field ingest does not read."""

from __future__ import annotations

import json
import uuid

from tests.support.lookup import BASE, WINDOW, ids, lean, record, send
from tests.support.server import Credentials, Server


def test_cloudtrail_event_is_the_exact_bytes_sent(server: Server, account: Credentials) -> None:
    event_id = str(uuid.uuid4())
    # Odd but valid JSON: whitespace, escapes, unknown fields, huge and exotic numbers, nulls, unicode.
    raw = (
        '{ "eventVersion" : "1.99",\n  "eventTime":"2024-01-01T00:00:07Z", "eventSource":"odd.example.com",'
        ' "eventName":"Caf\\u00e9\\/Op", "awsRegion":"us-east-1", '
        f'"eventID":"{event_id}", "readOnly":true, '
        '"userIdentity":{"type":"IAMUser","userName":"\u00fc\u0161er \U0001f600","accessKeyId":"AKIAODD",'
        '"futureIdentityField":{"nested":[1,2.50,-0.0,1E+2,12345678901234567890123]}},'
        '"resources":[{"ARN":"arn:aws:odd:::thing","type":"AWS::Odd::Thing","extra":null},{"type":"AWS::Odd::NoArn"}],'
        '"requestParameters":null,"responseElements":{"a":"\\"quoted\\"\\n\\t"},'
        '"aBrandNewTopLevelField":{"x":[true,false,null,"",{}]},"eventCategory":"Management"   }'
    )
    send(server, account, [raw])
    ct = server.client("cloudtrail", account)
    [event] = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event_id}], **WINDOW
    )["Events"]
    assert event["CloudTrailEvent"] == raw
    assert json.loads(event["CloudTrailEvent"]) == json.loads(raw)
    assert event["EventName"] == "Caf\u00e9/Op"
    assert event["Username"] == "\u00fc\u0161er \U0001f600"
    assert event["ReadOnly"] == "true"
    assert event["Resources"] == [
        {"ResourceType": "AWS::Odd::Thing", "ResourceName": "arn:aws:odd:::thing"},
        {"ResourceType": "AWS::Odd::NoArn"},
    ]
    # The unicode user name is also a lookup key.
    by_user = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "\u00fc\u0161er \U0001f600"}],
        **WINDOW,
    )
    assert ids(by_user) == [event_id]


def test_invalid_utf8_in_an_unread_field_never_breaks_history(server: Server, account: Credentials) -> None:
    good = record(at=BASE + 1, name="Good")
    bad = json.dumps(record(at=BASE, name="Bad", futureField="PLACEHOLDER")).encode()
    bad = bad.replace(b"PLACEHOLDER", b"\xff\xfe")  # not UTF-8, in a field ingest does not read
    body = b'{"Records": [' + json.dumps(good).encode() + b"," + bad + b"]}"
    with lean(server, account) as conn:
        result = conn.ingest_records(body)
        assert result["accepted"] + len(result["failed"]) == 2
        response = conn.cloudtrail("LookupEvents", WINDOW)
    names = [e["EventName"] for e in response["Events"]]
    if result["failed"]:  # ingest refused the record: only the good one is there
        assert names == ["Good"]
    else:  # stored: the page still answers, the bad bytes shown as U+FFFD
        assert names == ["Good", "Bad"]
        assert json.loads(response["Events"][1]["CloudTrailEvent"])["futureField"] == "\ufffd\ufffd"
