"""Bytes that are not UTF-8, in a JSON body or in a record, get an error of their own or fail their
record alone, and never break event history.

Requests that make the server log a traceback go to a server of their own (``quarantine``), so the log
check of ``test_server_log.py`` keeps guarding everything else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.protocol import check_error, cloudtrail_headers, ingest, signed_post
from tests.support.server import Server, make_server


@pytest.fixture(scope="module")
def quarantine() -> Iterator[Server]:
    yield from make_server()


@pytest.mark.parametrize("body", [b'{"trailNameList": ["\xff\xfe"]}', b'{"\xff": 1}'], ids=["value", "key"])
def test_json_body_with_invalid_utf8(quarantine: Server, body: bytes) -> None:
    creds = quarantine.root
    assert creds is not None
    response = signed_post(quarantine, creds, body, cloudtrail_headers("DescribeTrails"))
    check_error(response, 400, "SerializationException", "UTF-8")


def _record(**fields: Any) -> bytes:
    record = {
        "eventVersion": "1.08",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "eventID": "00000000-0000-0000-0000-000000000000",
    }
    record.update(fields)
    return json.dumps(record).encode()


def test_record_with_invalid_utf8_in_a_modelled_field_fails_alone(quarantine: Server) -> None:
    creds = quarantine.root
    assert creds is not None
    good = _record(eventID="good-1")
    bad = _record(eventID="bad-1", eventName="PLACEHOLDER").replace(b"PLACEHOLDER", b"Get\xffObject")
    response = ingest(quarantine, creds, b'{"Records": [' + good + b"," + bad + b"]}")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1
    assert [(f["index"], f["errorCode"]) for f in result["failed"]] == [(1, "InvalidData")]


def test_a_record_with_invalid_utf8_never_breaks_event_history(quarantine: Server) -> None:
    creds = quarantine.root
    assert creds is not None
    bad = _record(eventID="bad-2", extra="PLACEHOLDER").replace(b"PLACEHOLDER", b"\xff")
    response = ingest(quarantine, creds, b'{"Records": [' + bad + b"]}")
    assert response.status_code == 200, response.text
    lookup = signed_post(quarantine, creds, b"{}", cloudtrail_headers("LookupEvents"))
    assert lookup.status_code == 200, lookup.text
