"""Times the AWS CLI's way: sliced from key names, read leniently from arguments, printed to the second."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opentrail.errors import ValidationAborted
from opentrail.validate.times import display, key_stamp, key_time, lenient_time, log_minute, parse_cli_time

KEY = "AWSLogs/1/CloudTrail-Digest/r/2024/05/01/1_CloudTrail-Digest_r_t_r_20240501T120131Z.json.gz"


def test_a_digests_time_is_sliced_from_its_key_by_position() -> None:
    assert key_stamp(KEY) == "20240501T120131Z"
    assert key_time(KEY) == datetime(2024, 5, 1, 12, 1, 31, tzinfo=UTC)
    # Anything else in those 16 characters is strptime's to refuse, as in the AWS CLI.
    with pytest.raises(ValueError, match="does not match format"):
        key_time("AWSLogs/x_backfill.json.gz")
    with pytest.raises(ValueError, match="'20241301T120131Z' does not match format"):
        key_time(KEY.replace("20240501T", "20241301T"))


def test_a_log_files_minute() -> None:
    assert log_minute("20240501T1205Z") == datetime(2024, 5, 1, 12, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not match format"):
        log_minute("2024-05-01T12:05Z")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        # A zone is dropped, not converted: the AWS CLI takes the wall-clock value as UTC.
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("May 1 2024 12:00", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-13-01T00:00:00Z", None),
        ("not a time", None),
    ],
)
def test_times_are_read_as_dateutil_reads_them(text: str, expected: datetime | None) -> None:
    assert lenient_time(text) == expected


def test_an_unreadable_argument_aborts_in_the_aws_clis_words() -> None:
    assert parse_cli_time("2024-05-01T00:00:00Z") == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValidationAborted, match=r"^Unable to parse date value: soon$"):
        parse_cli_time("soon")


def test_display_is_to_the_second_in_utc() -> None:
    assert display(datetime(2024, 5, 1, 12, 0, 31, 999_999, tzinfo=UTC)) == "2024-05-01T12:00:31Z"
