"""What a run of ``validate-logs`` finds: a ``Verdict`` on each digest and log file, the ``Gap``s between
chains, in the order the report prints them."""

from __future__ import annotations

from datetime import datetime


class Verdict:
    """One file's line: a digest or a log file, ``reason`` None when valid."""

    __slots__ = ("bucket", "extra", "key", "kind", "reason")

    def __init__(
        self, kind: str, bucket: str, key: str, reason: str | None = None, extra: bool = False
    ) -> None:
        self.kind = kind  # "digest" | "log"
        self.bucket, self.key, self.reason = bucket, key, reason
        self.extra = extra  # found by a check the AWS CLI does not make

    @property
    def valid(self) -> bool:
        return self.reason is None


class Gap:
    """A starting digest with older digests before it: CloudTrail delivered nothing in between."""

    __slots__ = ("after", "before")

    def __init__(self, after: datetime, before: datetime) -> None:
        self.after, self.before = after, before


Line = Verdict | Gap


class Invalid(Exception):
    """A digest failed a check; ``reason`` is what its line says after ``INVALID: ``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
