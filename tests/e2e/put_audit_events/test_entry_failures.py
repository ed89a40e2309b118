"""Per-entry failures: in a mixed batch each bad entry fails with its own code and message, and the
good ones are stored."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.support.audit_events import DROP, checksum, entry, event_data, now_text
from tests.support.channels import Channel, lookup
from tests.support.server import Server


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
