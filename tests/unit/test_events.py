"""The record model (``events.py``): the category a record is stored under, the ``Username`` event history
shows for its identity, the few fields read from it (everything else left to the bytes kept), what a
record that cannot be read is refused with, and the remembered event times ingest shares across
threads. CloudTrail's rules: reference §3 (Username), §4.1-§4.3 (fields, identities, categories).
``index_record``, which builds a stored row from these, is tested in ``tests/unit/ingest/test_records.py``.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from opentrail.errors import RecordError
from opentrail.events import (
    EventTimes,
    Kind,
    decode,
    decode_view,
    encode,
    kind_of,
    lenient_identity,
    username_of,
)

JAN_1 = 1_704_067_200  # 2024-01-01T00:00:00Z
INSTANCE = "arn:aws:ec2:eu-west-1:111122223333:instance/i-1"


def on_jan_1(second: int) -> str:
    """The eventTime of ``second`` seconds into 2024-01-01, spelled out by hand."""
    return f"2024-01-01T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


def view(**fields: Any) -> Any:
    return decode_view(json.dumps(fields).encode())


# -- categories -------------------------------------------------------------------------------------------


def test_stored_kinds_keep_their_numbers() -> None:
    # Stored in every event row of both backends: renumbering would reclassify kept history.
    assert [(k.name, k.value) for k in Kind] == [
        ("MANAGEMENT", 0),
        ("DATA", 1),
        ("INSIGHT", 2),
        ("NETWORK", 3),
    ]


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"eventCategory": "Management", "eventType": "AwsApiCall"}, Kind.MANAGEMENT),
        ({"eventCategory": "Data", "eventType": "AwsApiCall"}, Kind.DATA),
        ({"eventCategory": "NetworkActivity", "eventType": "AwsVpceEvent"}, Kind.NETWORK),
        ({"eventCategory": "Insight", "eventType": "AwsCloudTrailInsight"}, Kind.INSIGHT),
        # An Insights record is one by its type even where a producer left the category out.
        ({"eventType": "AwsCloudTrailInsight"}, Kind.INSIGHT),
        # Before eventVersion 1.07 there was no category: managementEvent (1.06) tells data apart.
        ({"eventVersion": "1.06", "managementEvent": False}, Kind.DATA),
        ({"eventVersion": "1.06", "managementEvent": True}, Kind.MANAGEMENT),
        ({"eventVersion": "1.05"}, Kind.MANAGEMENT),
        # The category, where there is one, decides.
        ({"eventCategory": "Management", "managementEvent": False}, Kind.MANAGEMENT),
        # CloudTrail Lake integrations' records (PutAuditEvents) are kept as management events.
        ({"eventCategory": "ActivityAuditLog", "eventType": "ActivityLog"}, Kind.MANAGEMENT),
    ],
)
def test_the_kind_a_record_is_stored_as(fields: dict[str, Any], kind: Kind) -> None:
    assert kind_of(view(**fields)) is kind


# -- the Username of event history ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "username"),
    [
        ({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}, "root"),
        ({"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob"}, "bob"),
        ({"type": "AWSService", "sessionContext": {"sessionIssuer": {"userName": "svc"}}}, "svc"),
        ({"type": "AWSService"}, None),
        ({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "userName": "alice"}, "alice"),
        ({"type": "FederatedUser", "arn": "arn:aws:sts::111122223333:federated-user/carol"}, "carol"),
    ],
)
def test_the_username_history_shows(identity: dict[str, Any], username: str | None) -> None:
    assert username_of(view(userIdentity=identity).userIdentity) == username


def test_a_record_without_an_identity_has_no_username() -> None:
    # Insights records carry no userIdentity (reference §9.2).
    assert username_of(view(eventCategory="Insight").userIdentity) is None


def test_an_integrations_identity_keeps_only_its_text_members() -> None:
    """PutAuditEvents producers shape userIdentity freely: what is not text is left out, not refused."""
    identity = lenient_identity({"type": "CustomUser", "userName": "alice", "accessKeyId": 7, "arn": None})
    assert identity is not None
    assert (identity.type, identity.userName, identity.accessKeyId, identity.arn) == (
        "CustomUser",
        "alice",
        None,
        None,
    )
    assert lenient_identity(None) is None


# -- reading a record -------------------------------------------------------------------------------------


def test_the_fields_read_and_the_ones_left_to_the_bytes() -> None:
    record = {
        "eventVersion": "1.11",
        "eventTime": "2024-01-01T00:00:05Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances",
        "awsRegion": "eu-west-1",
        "eventID": "e-1",
        "readOnly": False,
        "resources": [{"ARN": INSTANCE, "type": "AWS::EC2::Instance"}],
        "tlsDetails": {"tlsVersion": "TLSv1.3"},
        "aFieldCloudTrailAddsLater": [1, 2, 3],
    }
    read = decode_view(json.dumps(record).encode())
    assert (read.eventVersion, read.eventTime, read.eventSource, read.eventName) == (
        "1.11",
        "2024-01-01T00:00:05Z",
        "ec2.amazonaws.com",
        "RunInstances",
    )
    assert (read.awsRegion, read.eventID, read.readOnly) == ("eu-west-1", "e-1", False)
    assert read.resources is not None
    assert [(r.type, r.ARN) for r in read.resources] == [("AWS::EC2::Instance", INSTANCE)]
    assert not hasattr(read, "tlsDetails")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"readOnly": "yes"}', "wrong type"),
        (b'{"userIdentity": {"type": 5}}', "$.userIdentity.type"),
        (b'{"resources": {"ARN": "arn:aws:s3:::b"}}', "$.resources"),
        (b"[]", "wrong type"),
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"eventName": "\xff"}', "not valid JSON"),
        (b'{"requestParameters": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_an_unreadable_record_is_refused_with_the_reason(raw: bytes, says: str) -> None:
    with pytest.raises(RecordError) as info:
        decode_view(raw)
    assert says in info.value.message
    assert info.value.code == "InvalidData"


def test_json_in_and_out() -> None:
    value = {"Records": [{"eventID": "e-1", "readOnly": True, "n": 1.5}], "empty": None}
    assert decode(encode(value)) == value
    assert decode(encode(value).decode()) == value  # text decodes as bytes do
    assert encode({"a": 1}) == b'{"a":1}'  # compact, as log files and history answers are


# -- remembered event times -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("2024-01-01T00:00:00Z", JAN_1 * 1000),
        ("2024-01-01T00:00:00.123Z", JAN_1 * 1000 + 123),
        ("2024-01-01T01:00:00+01:00", JAN_1 * 1000),
        ("2024-01-01T00:00:00", JAN_1 * 1000),  # a time without a zone is UTC
    ],
)
def test_an_event_time_is_read_as_epoch_milliseconds(text: str, millis: int) -> None:
    times = EventTimes()
    assert times.millis(text) == millis
    assert times.millis(text) == millis  # remembered, the same


def test_times_past_the_size_are_read_again_correctly() -> None:
    times = EventTimes(size=2)
    for rounds in range(2):
        for second in range(5):
            assert times.millis(f"2024-01-01T00:00:0{second}Z") == (JAN_1 + second) * 1000, rounds


def test_a_time_that_is_not_iso_8601_is_refused() -> None:
    times = EventTimes()
    with pytest.raises(RecordError, match="ISO-8601"):
        times.millis("soon")
    with pytest.raises(RecordError, match="ISO-8601"):
        times.millis("soon")  # a refusal is not remembered as a time


def test_the_event_time_of_a_second() -> None:
    times = EventTimes()
    assert times.text(JAN_1) == "2024-01-01T00:00:00Z"
    assert times.text(JAN_1) == "2024-01-01T00:00:00Z"
    assert times.text(JAN_1 + 86_399) == "2024-01-01T23:59:59Z"
    for second in range(JAN_1, JAN_1 + 200):  # more seconds than are remembered
        assert times.text(second) == on_jan_1(second - JAN_1)


def test_threads_sharing_the_times_each_get_the_right_ones() -> None:
    """Ingest's thread pool shares one ``EventTimes``: a small one, so threads clear it under each other."""
    times = EventTimes(size=8)
    seconds = range(JAN_1, JAN_1 + 3600, 7)

    def read_all(offset: int) -> list[tuple[int, str]]:
        order = list(seconds)[offset:] + list(seconds)[:offset]
        return [(times.millis(times.text(s)), times.text(s)) for s in order]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(read_all, range(0, 40, 5)))
    for offset, result in zip(range(0, 40, 5), results, strict=True):
        order = list(seconds)[offset:] + list(seconds)[:offset]
        assert [millis for millis, _ in result] == [s * 1000 for s in order]
        assert [text for _, text in result] == [on_jan_1(s - JAN_1) for s in order]
