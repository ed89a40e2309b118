"""What a run of ``validate-logs`` finds (``validate/verdicts.py``): a verdict on one digest or log file is
valid exactly when it has no reason, remembers whether a check beyond the AWS CLI's found it, a gap is the
time between two chains, and a failed digest check carries the words its line prints after ``INVALID:``.
How verdicts are printed is ``tests/unit/validate/test_report.py``'s; which ones a walk finds,
``test_walk.py``'s."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opentrail.validate.verdicts import Gap, Invalid, Verdict

BUCKET = "trail-bucket"
KEY = "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz"


def test_a_verdict_without_a_reason_is_valid() -> None:
    verdict = Verdict("digest", BUCKET, KEY)
    assert verdict.valid
    assert (verdict.kind, verdict.bucket, verdict.key, verdict.reason, verdict.extra) == (
        "digest",
        BUCKET,
        KEY,
        None,
        False,
    )


@pytest.mark.parametrize("reason", ["not found", "hash value doesn't match", ""])
def test_a_verdict_with_a_reason_is_invalid(reason: str) -> None:
    # Even an empty reason is a finding: only None means the file passed.
    assert not Verdict("log", BUCKET, KEY, reason).valid


def test_a_finding_beyond_the_aws_cli_is_marked() -> None:
    found = Verdict("log", BUCKET, KEY, "not listed in any digest file", extra=True)
    assert found.extra
    assert not found.valid


def test_a_gap_spans_the_time_nothing_was_delivered() -> None:
    after = datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    before = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    gap = Gap(after, before)
    assert (gap.after, gap.before) == (after, before)


def test_a_failed_check_carries_the_words_of_its_line() -> None:
    with pytest.raises(Invalid) as info:
        raise Invalid("signature verification failed")
    assert info.value.reason == "signature verification failed"
    assert str(info.value) == "signature verification failed"


def test_a_run_holds_one_verdict_per_file_without_a_dict_each() -> None:
    # A run over a year of hourly digests holds tens of thousands: slotted, they cost no per-object dict.
    for line in (Verdict("log", BUCKET, KEY), Gap(datetime.now(UTC), datetime.now(UTC))):
        assert not hasattr(line, "__dict__")
        with pytest.raises(AttributeError):
            line.note = "x"  # type: ignore[union-attr]
