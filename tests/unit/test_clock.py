"""Time in one place (``clock.py``): CloudTrail's record time (whole seconds, UTC, ``Z``), SNS's message
time (milliseconds), parsing what records and requests carry, and the clock tests move by hand."""

from __future__ import annotations

import time

import pytest

from opentrail.clock import FixedClock, SystemClock, format_time, format_time_millis, parse_time, to_millis
from opentrail.errors import RecordError


def test_record_time_is_whole_seconds_utc() -> None:
    assert format_time(0) == "1970-01-01T00:00:00Z"
    assert format_time(1_704_067_200) == "2024-01-01T00:00:00Z"
    # Truncated, never rounded up into the next second.
    assert format_time(1_704_067_200.999) == "2024-01-01T00:00:00Z"


def test_sns_time_has_milliseconds() -> None:
    assert format_time_millis(1_704_067_200.5) == "2024-01-01T00:00:00.500Z"
    assert format_time_millis(1_704_067_200) == "2024-01-01T00:00:00.000Z"
    assert format_time_millis(1_704_067_200.0071) == "2024-01-01T00:00:00.007Z"


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00z",
        "2024-01-01T00:00:00+00:00",
        "2024-01-01T02:00:00+02:00",
        "2023-12-31T19:00:00-05:00",
        "2024-01-01T00:00:00",  # no zone: UTC, as CloudTrail's times always are
        " 2024-01-01T00:00:00Z ",
    ],
)
def test_parse_time_reads_every_spelling_of_one_instant(text: str) -> None:
    assert parse_time(text) == 1_704_067_200.0


def test_parse_time_keeps_fractions_and_round_trips_format_time() -> None:
    assert parse_time("2024-01-01T00:00:00.250Z") == 1_704_067_200.25
    assert parse_time(format_time(1_714_564_800)) == 1_714_564_800


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "1704067200"])
def test_parse_time_refuses_what_is_not_a_time(text: str) -> None:
    with pytest.raises(RecordError, match="eventTime must be an ISO-8601 UTC time") as caught:
        parse_time(text)
    assert caught.value.code == "InvalidData"


def test_to_millis_rounds_to_the_nearest_millisecond() -> None:
    assert to_millis(1.0) == 1000
    assert to_millis(1_704_067_200.1234) == 1_704_067_200_123
    assert to_millis(1_704_067_200.1236) == 1_704_067_200_124


def test_fixed_clock_moves_only_by_hand() -> None:
    clock = FixedClock(100.0)
    assert clock.now() == clock.now() == 100.0
    clock.advance(2.5)
    assert clock.now() == 102.5


def test_system_clock_is_epoch_seconds_now() -> None:
    before = time.time()
    now = SystemClock().now()
    assert before <= now <= time.time()
