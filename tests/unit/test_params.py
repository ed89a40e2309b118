"""Typed request members (``params.py``): a member of the wrong JSON type is SerializationException (as
AWS answers it), a value out of the model's bounds is the operation's own named error, and time bounds
accept what SDKs send (integers, floats, ISO-8601) but nothing a timestamp cannot represent."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail import params
from opentrail.errors import (
    InvalidMaxResults,
    InvalidParameter,
    InvalidTimeRange,
    InvalidTrailName,
    SerializationException,
)


def test_string_bounds_and_the_named_error() -> None:
    assert params.string({}, "Name") is None
    assert params.string({"Name": "abc"}, "Name", min_len=3, max_len=3) == "abc"
    with pytest.raises(InvalidTrailName, match="Name is required but was not provided"):
        params.string({}, "Name", required=True, error=InvalidTrailName)
    with pytest.raises(InvalidParameter, match=r"Name must be between 3 and 5 characters long, got 6"):
        params.string({"Name": "abcdef"}, "Name", min_len=3, max_len=5)
    with pytest.raises(InvalidParameter, match=r"Name must be at least 2 characters long, got 1"):
        params.string({"Name": "a"}, "Name", min_len=2)
    with pytest.raises(SerializationException, match="Name must be a string, got int 5"):
        params.string({"Name": 5}, "Name")
    # An explicit JSON null is an absent member, as botocore never sends one.
    assert params.string({"Name": None}, "Name") is None


def test_required_string_returns_the_value() -> None:
    assert params.required_string({"TrailName": "t1"}, "TrailName") == "t1"
    with pytest.raises(InvalidParameter, match="TrailName is required"):
        params.required_string({}, "TrailName")


@pytest.mark.parametrize(
    ("read", "good", "bad"),
    [
        (params.boolean, True, "true"),
        (params.boolean, False, 0),
        (params.integer, 50, True),  # a JSON boolean is not an integer, though Python's bool is an int
        (params.integer, 0, 1.5),
        (params.array, [1], {"a": 1}),
    ],
)
def test_typed_members_refuse_other_json_types(read: Any, good: Any, bad: Any) -> None:
    assert read({"M": good}, "M") == good
    assert read({}, "M") is None
    with pytest.raises(SerializationException, match=r"^M must be"):
        read({"M": bad}, "M")


def test_a_required_array_names_its_error() -> None:
    with pytest.raises(InvalidMaxResults, match="Items is required"):
        params.array({}, "Items", required=True, error=InvalidMaxResults)


def test_structure() -> None:
    assert params.structure({"Key": "k"}, "TagsList[0]") == {"Key": "k"}
    with pytest.raises(SerializationException, match=r"TagsList\[0\] must be an object, got list"):
        params.structure([], "TagsList[0]")


def test_timestamps_in_every_form_sdks_send() -> None:
    assert params.timestamp({"T": 1704067200}, "T") == 1704067200.0  # botocore: integers
    assert params.timestamp({"T": 1704067200.5}, "T") == 1704067200.5  # other SDKs: floats
    assert params.timestamp({"T": "2024-01-01T00:00:00Z"}, "T") == 1704067200.0
    assert params.timestamp({"T": "2024-01-01T01:00:00+01:00"}, "T") == 1704067200.0
    assert params.timestamp({}, "T") is None
    for bad in (True, "yesterday", [1], float("nan"), float("inf")):
        with pytest.raises(SerializationException, match=r"^T must be"):
            params.timestamp({"T": bad}, "T")


def test_time_bounds_keep_what_was_sent_and_refuse_the_unrepresentable() -> None:
    assert params.time_bound({}, "StartTime") is None
    sent = params.time_bound({"StartTime": 1704067200}, "StartTime")
    assert (sent, type(sent)) == (1704067200, int)
    assert params.time_bound({"StartTime": "2024-01-01T00:00:00Z"}, "StartTime") == 1704067200.0
    assert params.time_bound({"EndTime": 0}, "EndTime") == 0
    # 9999-12-31T23:59:59Z is the last second an ISO-8601 timestamp can name.
    assert params.time_bound({"EndTime": params.MAX_EPOCH}, "EndTime") == 253_402_300_799
    for bad in (-1, params.MAX_EPOCH + 1, float("nan"), float("-inf")):
        with pytest.raises(InvalidTimeRange, match="outside the range of possible values"):
            params.time_bound({"EndTime": bad}, "EndTime")
    # A wrong JSON type is still a malformed request, not a bad range.
    with pytest.raises(SerializationException):
        params.time_bound({"EndTime": False}, "EndTime")
