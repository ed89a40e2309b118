"""What ``validate-logs`` prints: the AWS CLI's lines, blank lines and summary to the byte, or JSON."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from opentrail.validate.report import Report, startup_text, to_json, write_text
from opentrail.validate.trail import TrailFiles
from opentrail.validate.verdicts import Gap, Line, Verdict
from opentrail.validate.walk import Result

ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
FILES = TrailFiles(ARN, "bkt", "p", "123456789012", "t", "us-east-1", "us-east-1")
START, END = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
FOUND = datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC), datetime(2024, 5, 1, 2, 0, 31, tzinfo=UTC)
GAP = Gap(datetime(2024, 5, 1, 1, tzinfo=UTC), datetime(2024, 5, 1, 1, 30, tzinfo=UTC))
LINES: list[Line] = [
    Verdict("digest", "bkt", "d1"),
    Verdict("log", "bkt", "l1"),
    Verdict("log", "bkt", "l2", "not found"),
    GAP,
    Verdict("digest", "bkt", "d0"),
    Verdict("log", "bkt", "l3", "not listed in any digest", extra=True),
]


def report(lines: list[Line], found: bool = True) -> Report:
    result = Result(START, END)
    if found:
        result.found(*FOUND)
    return Report(FILES, result, lines)


def text(done: Report, verbose: bool) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    write_text(done, verbose, out, err)
    return out.getvalue(), err.getvalue()


def test_verbose_lines_errors_and_the_summary() -> None:
    out, err = text(report(LINES), verbose=True)
    assert out == (
        "Digest file\ts3://bkt/d1\tvalid\n"
        "Log file\ts3://bkt/l1\tvalid\n"
        "Digest file\ts3://bkt/d0\tvalid\n"
        "Results requested for 2024-05-01T00:00:00Z to 2024-05-02T00:00:00Z\n"
        "Results found for 2024-05-01T00:00:31Z to 2024-05-01T02:00:31Z:\n"
        "\n2/2 digest files valid"
        "\n1/3 log files valid, 2/3 log files INVALID\n"
    )
    # A blank line parts an error from the verbose lines before it; errors never double it.
    assert err == (
        "\nLog file\ts3://bkt/l2\tINVALID: not found\n\n"
        "No log files were delivered by CloudTrail between 2024-05-01T01:00:00Z and 2024-05-01T01:30:00Z\n\n"
        "\nLog file\ts3://bkt/l3\tINVALID: not listed in any digest\n\n"
    )


def test_without_verbose_only_errors_are_lines() -> None:
    out, err = text(report(LINES), verbose=False)
    assert out.startswith("Results requested for ")
    # After a verbose line, a blank line comes before the summary.
    verbose, _ = text(report(LINES[:2]), verbose=True)
    assert verbose.startswith("Digest file\ts3://bkt/d1\tvalid\nLog file\ts3://bkt/l1\tvalid\n\nResults")
    assert err.startswith("Log file\ts3://bkt/l2\tINVALID: not found\n\nNo log files were delivered")


def test_no_digests_and_no_valid_digests() -> None:
    out, _ = text(report([], found=False), verbose=False)
    assert out.endswith("2024-05-02T00:00:00Z\nNo digests found\n")
    out, _ = text(report([Verdict("digest", "bkt", "d", "not found")], found=False), verbose=False)
    assert out.endswith(
        "No valid digests found in range\n\n0/1 digest files valid, 1/1 digest files INVALID\n"
    )


def test_the_startup_line() -> None:
    assert startup_text(ARN, Result(START, END)) == (
        f"Validating log files for trail {ARN} between 2024-05-01T00:00:00Z and 2024-05-02T00:00:00Z\n\n"
    )


def verdict(key: str, status: str, reason: str | None, extra: bool) -> dict[str, object]:
    return {"s3Bucket": "bkt", "s3Object": key, "status": status, "reason": reason, "beyondAwsCli": extra}


def test_the_json_report_has_every_verdict_gap_and_count() -> None:
    done = report(LINES)
    assert not done.ok
    assert to_json(done) == {
        "trailArn": ARN,
        "s3Bucket": "bkt",
        "s3Prefix": "p",
        "requested": {"start": "2024-05-01T00:00:00Z", "end": "2024-05-02T00:00:00Z"},
        "found": {"start": "2024-05-01T00:00:31Z", "end": "2024-05-01T02:00:31Z"},
        "valid": False,
        "digests": [verdict(d, "valid", None, False) for d in ("d1", "d0")],
        "logFiles": [
            verdict("l1", "valid", None, False),
            verdict("l2", "INVALID", "not found", False),
            verdict("l3", "INVALID", "not listed in any digest", True),
        ],
        "gaps": [{"from": "2024-05-01T01:00:00Z", "to": "2024-05-01T01:30:00Z"}],
        "summary": {"digestFiles": {"valid": 2, "invalid": 0}, "logFiles": {"valid": 1, "invalid": 2}},
    }
    assert report([Verdict("digest", "bkt", "d")]).ok
