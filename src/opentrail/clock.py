"""Time in one place: UTC, timezone-aware, formatted the CloudTrail way.

Everything that needs "now" receives a ``Clock`` so tests can move time by hand.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

from opentrail.errors import RecordError


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, UTC."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock tests set and advance by hand."""

    def __init__(self, start: float) -> None:
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def format_time(epoch: float) -> str:
    """CloudTrail's record time: ``YYYY-MM-DDTHH:MM:SSZ``, whole seconds, UTC."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_time_millis(epoch: float) -> str:
    """SNS's message time: ``YYYY-MM-DDTHH:MM:SS.mmmZ``, UTC."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    """Parse an ISO-8601 record time (``Z`` or an offset; a zone-less value is UTC) to epoch seconds."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(
            f"eventTime must be an ISO-8601 UTC time such as 2024-05-01T12:00:00Z, got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def to_millis(epoch: float) -> int:
    return round(epoch * 1000)
