"""``opentrail validate-logs`` reads plain arguments itself (``launch.quick_arguments``, to start without
importing click); whatever it reads must be exactly what the click command reads, and whatever it
declines goes to click."""

from __future__ import annotations

import pytest

from opentrail.cli.launch import quick_arguments
from opentrail.cli.validate_logs import validate_logs

BASE = ["--trail-arn", "arn:aws:cloudtrail:us-east-1:123456789012:trail/t", "--start-time", "2024-05-01"]

READ = [
    BASE,
    [*BASE, "--end-time", "2024-05-02T00:00:00Z", "--s3-bucket", "b", "--s3-prefix", "p", "--verbose"],
    [*BASE, "--workers=3", "--output=json", "--region", "eu-west-1", "--account-id", "210987654321"],
    [*BASE, "--endpoint-url", "http://127.0.0.1:1", "--storage-url=file:///tmp/x", "--data-dir", "d"],
    [*BASE, "--s3-bucket", "first", "--s3-bucket", "last", "--workers", "007", "--s3-prefix="],
    ["--start-time", "2024-05-01", "--verbose", "--trail-arn=x", "--verbose"],
]

DECLINED = [
    ["--help"],
    [*BASE, "--help"],
    BASE[:2],  # no --start-time
    [*BASE, "--s3-bucket"],  # no value
    [*BASE, "--s3-buck", "b"],  # an abbreviation
    [*BASE, "--verbose=yes"],
    [*BASE, "--workers", "0"],
    [*BASE, "--workers", "+5"],
    [*BASE, "--workers="],
    [*BASE, "--output", "yaml"],
    [*BASE, "--output="],
    [*BASE, "--end-time", "-1"],
    [*BASE, "--", "x"],
    [*BASE, "extra"],
]


@pytest.mark.parametrize("args", READ)
def test_what_it_reads_click_reads_the_same(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENTRAIL_DATA_DIR", "from-env")
    quick = quick_arguments(args)
    assert quick is not None
    assert quick == validate_logs.make_context("validate-logs", list(args)).params


def test_the_data_dir_comes_from_the_environment_as_in_click(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("", "somewhere"):
        monkeypatch.setenv("OPENTRAIL_DATA_DIR", value)
        assert quick_arguments(BASE) == validate_logs.make_context("validate-logs", list(BASE)).params
    monkeypatch.delenv("OPENTRAIL_DATA_DIR")
    assert quick_arguments(BASE) == validate_logs.make_context("validate-logs", list(BASE)).params


@pytest.mark.parametrize("args", DECLINED)
def test_anything_else_is_left_to_click(args: list[str]) -> None:
    assert quick_arguments(args) is None
