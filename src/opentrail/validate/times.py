"""Times as ``validate-logs`` reads and prints them, the AWS CLI's way: a digest's time sliced from its key
by position, ``--start-time``/``--end-time`` and digest fields read as dateutil reads them, and
``YYYY-MM-DDTHH:MM:SSZ`` in every line it prints."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime

from opentrail.delivery.layout import DIGEST_TIME, LOG_TIME
from opentrail.errors import ValidationAborted

DISPLAY_TIME = "%Y-%m-%dT%H:%M:%SZ"
_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)


def display(when: datetime) -> str:
    return when.strftime(DISPLAY_TIME)


def _compact(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)`` in UTC for ``YYYYMMDDTHHMM[SS]Z``: read by slicing when the
    digits make a real time (the same answer, without importing ``_strptime``), else by strptime."""
    if text.isascii() and len(text) in (14, 16) and text[8] == "T" and text[-1] == "Z":
        digits = text[:8] + text[9:-1]
        if digits.isdigit():
            month, day, hour, minute, second = (int(digits[i : i + 2] or 0) for i in range(4, 14, 2))
            with contextlib.suppress(ValueError):
                return datetime(int(digits[:4]), month, day, hour, minute, second, tzinfo=UTC)
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def key_stamp(key: str) -> str:
    """The time in a digest's key, as the AWS CLI slices it: ``...YYYYMMDDTHHMMSSZ.json.gz``."""
    return key[-24:-8]


def key_time(key: str) -> datetime:
    """The time of a digest's key (``ValueError`` when its slice is not one)."""
    return _compact(key_stamp(key), DIGEST_TIME)


def log_minute(text: str) -> datetime:
    """The delivery minute in a log file's name, ``YYYYMMDDTHHMMZ``."""
    return _compact(text, LOG_TIME)


def lenient_time(text: str) -> datetime | None:
    """Any form dateutil reads (the AWS CLI's parser), its wall-clock value taken as UTC: a zone in the
    text is dropped, not converted, exactly as the AWS CLI does. None when unreadable."""
    if _ISO_UTC.fullmatch(text):
        # The form CloudTrail writes and most people type: read it without importing dateutil.
        try:
            return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
        except ValueError:
            pass  # e.g. month 13: dateutil's verdict and words below
    # python-dateutil ships with botocore but without type stubs.
    from dateutil import parser  # type: ignore[import-untyped]

    try:
        parsed = parser.parse(text)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.replace(tzinfo=UTC) if isinstance(parsed, datetime) else None


def parse_cli_time(text: str) -> datetime:
    """A ``--start-time``/``--end-time`` value, read as the AWS CLI reads it (``lenient_time``)."""
    parsed = lenient_time(text)
    if parsed is None:
        raise ValidationAborted(f"Unable to parse date value: {text}")
    return parsed
