"""Request bodies a client should never send, signed by a genuine caller so they reach the parsers:
over the JSON API's 1 MB and the server's maximum body, declared or chunked; nested past any parser's
depth; arrays far past the API's limits; invalid UTF-8, lone surrogates and NUL bytes; duplicate JSON
keys. Each is refused in its service's shape (or, where the API takes it, kept exactly), and none
changes what it should not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.audit import fingerprint, traces
from tests.support.audit_events import entry, event_data
from tests.support.holdings import Holdings, ingest
from tests.support.protocol import TARGET
from tests.support.routes import route
from tests.support.server import Server, management_record
from tests.support.signing import sign
from tests.support.wire import JSON_11, Answer, Wire, json_error, rest_error, xml_error

MB = 1024 * 1024
MAX_BODY = 4 * MB  # the suite server's OPENTRAIL_MAX_BODY_BYTES


def cloudtrail(
    server: Server, wire: Wire, h: Holdings, operation: str, body: bytes, **headers: str
) -> Answer:
    sent = {"X-Amz-Target": TARGET + operation, "Content-Type": JSON_11, **headers}
    signed = sign(server.endpoint + "/", "POST", sent, body, h.creds, service="cloudtrail")
    return wire.send(f"cloudtrail:{operation}", "POST", "/", signed, body)


def data_plane(server: Server, wire: Wire, h: Holdings, path: str, body: bytes) -> Answer:
    headers = {"Content-Type": "application/json"}
    signed = sign(server.endpoint + path, "POST", headers, body, h.creds, service="cloudtrail-data")
    return wire.send(path.split("?")[0].lstrip("/"), "POST", path, signed, body)


def put_audit_events(server: Server, wire: Wire, h: Holdings, body: bytes) -> Answer:
    return data_plane(server, wire, h, route("put-audit-events", h).path, body)


@pytest.mark.parametrize("operation", ["DescribeTrails", "AddTags", "LookupEvents"])
def test_a_json_body_over_one_megabyte_is_refused(
    server: Server, wire: Wire, intruder: Holdings, operation: str
) -> None:
    body = json.dumps({"ResourceId": intruder.trail_arn, "Padding": "x" * MB}).encode()
    before = fingerprint(server)
    json_error(cloudtrail(server, wire, intruder, operation, body), 400, "RequestEntityTooLargeException")
    assert fingerprint(server) == before


def test_an_organizations_body_over_one_megabyte_is_refused(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    body = json.dumps({"AccountName": "x", "Email": "a@example.com", "Padding": "x" * MB}).encode()
    headers = {"X-Amz-Target": "AWSOrganizationsV20161128.CreateAccount", "Content-Type": JSON_11}
    signed = sign(server.endpoint + "/", "POST", headers, body, intruder.creds, service="organizations")
    json_error(wire.send("organizations", "POST", "/", signed, body), 400, "RequestEntityTooLargeException")


def chunks(size: int, piece: bytes = b" " * 65536) -> Iterator[bytes]:
    for _ in range(size // len(piece) + 1):
        yield piece


def test_an_ingest_body_over_the_maximum_is_refused_from_its_declared_length(wire: Wire) -> None:
    """Unsigned: refused on its declared size, before anything else, never read."""
    headers = {"Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1)}
    answer = wire.send("IngestRecords", "POST", "/IngestRecords", headers, b" " * (MAX_BODY + 1))
    rest_error(answer, 400, "RequestEntityTooLargeException")


def test_an_unsigned_chunked_body_is_refused_before_it_is_read(wire: Wire) -> None:
    """Of unknown length: refused for its missing signature, from the headers."""
    headers = {"Content-Type": "application/json"}
    answer = wire.send("IngestRecords", "POST", "/IngestRecords", headers, chunks(MAX_BODY + MB))  # type: ignore[arg-type]
    rest_error(answer, 403, "MissingAuthenticationTokenException")


def test_a_signed_chunked_body_is_cut_off_at_the_maximum(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    """Signed by a genuine caller, of unknown length: read only up to the maximum, then refused."""
    body = b" " * (MAX_BODY + MB)
    headers = sign(
        server.endpoint + "/IngestRecords",
        "POST",
        {"Content-Type": "application/json"},
        body,
        intruder.creds,
        service="cloudtrail-data",
    )
    answer = wire.send("IngestRecords", "POST", "/IngestRecords", headers, chunks(len(body)))  # type: ignore[arg-type]
    rest_error(answer, 400, "RequestEntityTooLargeException")


def test_an_s3_object_over_the_maximum_is_refused(server: Server, wire: Wire, intruder: Holdings) -> None:
    path = f"/{intruder.bucket}/too-large"
    body = b"x" * (MAX_BODY + 1)
    signed = sign(server.endpoint + path, "PUT", {}, body, intruder.creds, service="s3")
    xml_error(wire.send("s3-put-object", "PUT", path, signed, body), 400, "EntityTooLarge")
    assert traces(server, "too-large") == []


def test_put_audit_events_over_one_megabyte_is_refused(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    body = json.dumps(
        {"auditEvents": [entry("1", event_data(intruder.account, UID="forged-big", pad="x" * MB))]}
    )
    rest_error(put_audit_events(server, wire, intruder, body.encode()), 400, "ValidationException")
    assert traces(server, "forged-big") == []


DEEP = 100_000


@pytest.mark.parametrize(
    ("where", "body"),
    [
        ("a-member", b'{"trailNameList": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
        ("an-unknown-member", b'{"Unknown": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}"),
    ],
)
def test_json_nested_past_any_depth_is_refused(
    server: Server, wire: Wire, intruder: Holdings, where: str, body: bytes
) -> None:
    json_error(cloudtrail(server, wire, intruder, "DescribeTrails", body), 400, "SerializationException")


@pytest.mark.parametrize("where", ["records", "an-unknown-member"])
def test_an_ingest_body_nested_past_any_depth_is_refused(
    server: Server, wire: Wire, intruder: Holdings, where: str
) -> None:
    nested = b"[" * DEEP + b"]" * DEEP
    body = b'{"Records": ' + nested + b"}" if where == "records" else b'{"Records": [], "x": ' + nested + b"}"
    rest_error(data_plane(server, wire, intruder, "/IngestRecords", body), 400, "SerializationException")


def test_an_audit_event_nested_past_any_depth_fails_alone(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    deep = '{"a":' * 5_000 + "1" + "}" * 5_000
    body = json.dumps({"auditEvents": [entry("1", deep)], "x": json.loads("[" * 100 + "]" * 100)}).encode()
    answer = put_audit_events(server, wire, intruder, body)
    assert answer.status == 200, answer.text
    assert [f["errorCode"] for f in answer.json()["failed"]] == ["InvalidData"]


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        (
            "LookupEvents",
            {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "a"}] * 2},
            "InvalidLookupAttributesException",
        ),
        ("ListTags", {"ResourceIdList": ["{trail}"] * 21}, "InvalidParameterException"),
        (
            "PutEventSelectors",
            {"TrailName": "{name}", "EventSelectors": [{"ReadWriteType": "All"}] * 6},
            "InvalidEventSelectorsException",
        ),
        (
            "AddTags",
            {"ResourceId": "{trail}", "TagsList": [{"Key": f"k{n}", "Value": "v"} for n in range(51)]},
            "TagsLimitExceededException",
        ),
        (
            "CreateChannel",
            {
                "Name": "many",
                "Source": "Custom",
                "Destinations": [{"Type": "EVENT_DATA_STORE", "Location": "example-store"}] * 300,
            },
            "InvalidParameterException",
        ),
    ],
)
def test_arrays_past_the_apis_limits_are_refused(
    server: Server, wire: Wire, intruder: Holdings, operation: str, params: dict[str, Any], code: str
) -> None:
    text = json.dumps(params).replace("{trail}", intruder.trail_arn).replace("{name}", intruder.trail)
    before = fingerprint(server)
    json_error(cloudtrail(server, wire, intruder, operation, text.encode()), 400, code)
    assert fingerprint(server) == before


def test_a_huge_list_of_names_is_answered_in_bounded_time(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    body = json.dumps({"trailNameList": [f"name-{n}" for n in range(70_000)]}).encode()
    assert len(body) < MB
    started = time.monotonic()
    answer = cloudtrail(server, wire, intruder, "DescribeTrails", body)
    assert (answer.status, answer.json()) == (200, {"trailList": []})
    assert time.monotonic() - started < 5


def test_too_many_records_or_audit_events_are_refused(server: Server, wire: Wire, intruder: Holdings) -> None:
    records = json.dumps({"Records": [{"eventID": f"forged-many-{n}"} for n in range(10_001)]}).encode()
    rest_error(data_plane(server, wire, intruder, "/IngestRecords", records), 400, "ValidationException")
    events = [entry(str(n), event_data(intruder.account, UID=f"forged-many-{n}")) for n in range(101)]
    body = json.dumps({"auditEvents": events}).encode()
    rest_error(put_audit_events(server, wire, intruder, body), 400, "ValidationException")
    assert traces(server, "forged-many-") == []


INVALID_TEXT = {
    "invalid-utf8": b'{"trailNameList": ["\xff\xfe"]}',
    "encoded-surrogate": b'{"trailNameList": ["\xed\xa0\x80"]}',
    "lone-surrogate-escape": b'{"trailNameList": ["\\ud800"]}',
    "lone-low-surrogate": b'{"trailNameList": ["\\udc00x"]}',
    "raw-nul": b'{"trailNameList": ["a\x00b"]}',
    "overlong-utf8": b'{"trailNameList": ["\xc0\xaf"]}',
    "nan": b'{"MaxResults": NaN}',
    "number-out-of-range": b'{"MaxResults": 1e400}',
    "trailing-garbage": b'{"trailNameList": []} {"x": 1}',
    "bom": b'\xef\xbb\xbf{"trailNameList": []}',
}


@pytest.mark.parametrize("case", sorted(INVALID_TEXT))
def test_json_that_is_not_valid_text_is_refused(
    server: Server, wire: Wire, intruder: Holdings, case: str
) -> None:
    operation = "LookupEvents" if "MaxResults" in INVALID_TEXT[case].decode("latin-1") else "DescribeTrails"
    json_error(
        cloudtrail(server, wire, intruder, operation, INVALID_TEXT[case]), 400, "SerializationException"
    )


@pytest.mark.parametrize("case", ["lone-surrogate-escape", "raw-nul"])
def test_an_ingest_body_that_is_not_valid_text_is_refused(
    server: Server, wire: Wire, intruder: Holdings, case: str
) -> None:
    inside = INVALID_TEXT[case].split(b"[", 1)[1].split(b"]", 1)[0]
    body = b'{"Records": [], "x": ' + inside + b"}"
    rest_error(data_plane(server, wire, intruder, "/IngestRecords", body), 400, "SerializationException")


@pytest.mark.parametrize(
    ("member", "value", "code"),
    [
        ("Name", "nul\u0000trail", "InvalidTrailNameException"),
        ("S3KeyPrefix", "logs/\u0000", "InvalidS3PrefixException"),
        ("TagsList", [{"Key": "k\u0000", "Value": "v"}], "InvalidTagParameterException"),
        ("TagsList", [{"Key": "k", "Value": "\u202e\u0000"}], "InvalidTagParameterException"),
    ],
)
def test_nul_in_what_a_trail_keeps_is_refused(
    server: Server, wire: Wire, intruder: Holdings, member: str, value: Any, code: str
) -> None:
    params = {"Name": "nul-trail", "S3BucketName": intruder.bucket, member: value}
    before = fingerprint(server)
    json_error(cloudtrail(server, wire, intruder, "CreateTrail", json.dumps(params).encode()), 400, code)
    assert fingerprint(server) == before


def test_odd_text_in_a_record_is_kept_byte_for_byte(wire: Wire, intruder: Holdings) -> None:
    """What the API takes it keeps exactly: NUL, bidi overrides, astral characters and escapes in an
    ingested record come back in LookupEvents as they were sent (the record is evidence)."""
    record = management_record(intruder.account, user="mal\u0000lory\u202e\U0001f600")
    record["requestParameters"] = {"x": '\u0000\u0001\u001f\\"</script>'}
    assert ingest(wire, intruder.creds, [record]) == {"accepted": 1, "failed": []}
    attributes = [{"AttributeKey": "EventId", "AttributeValue": record["eventID"]}]
    (event,) = wire.boto("cloudtrail", intruder.creds).lookup_events(LookupAttributes=attributes)["Events"]
    assert json.loads(event["CloudTrailEvent"]) == record
    assert event["Username"] == "mal\u0000lory\u202e\U0001f600"


def test_a_duplicated_json_key_is_recorded_as_it_was_performed(
    server: Server, wire: Wire, intruder: Holdings
) -> None:
    """JSON with a key twice is ambiguous: whichever value the server acts on, its audit record must
    name that one, never the other."""
    first, second = (json.dumps([{"Key": f"dup-{n}", "Value": "1"}]) for n in ("first", "second"))
    body = f'{{"ResourceId": "{intruder.trail_arn}", "TagsList": {first}, "TagsList": {second}}}'.encode()
    answer = cloudtrail(server, wire, intruder, "AddTags", body)
    assert answer.status == 200, answer.text
    tags = wire.boto("cloudtrail", intruder.creds).list_tags(ResourceIdList=[intruder.trail_arn])
    keys = {t["Key"] for t in tags["ResourceTagList"][0]["TagsList"]}
    request_id = answer.headers["x-amzn-requestid"]
    record = wire.recorded(intruder.creds, "AddTags", [request_id])[request_id]
    recorded_keys = {t["key"] for t in record["requestParameters"]["tagsList"]}
    assert recorded_keys <= keys
    assert len({"dup-first", "dup-second"} & keys) == 1
