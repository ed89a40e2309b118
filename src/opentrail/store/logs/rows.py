"""The rows of the log groups' tables as callers see them: frozen values, times in epoch milliseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LogEvent", "LogGroup", "LogStream", "MetricFilter", "group_arn"]


def group_arn(account: str, region: str, name: str) -> str:
    """A log group's ARN as ``logGroupArn`` gives it (DescribeLogGroups' ``arn`` adds ``:*``)."""
    return f"arn:aws:logs:{region}:{account}:log-group:{name}"


@dataclass(frozen=True, slots=True)
class LogGroup:
    account: str
    region: str
    name: str
    created: int
    retention_days: int | None = None
    kms_key_id: str | None = None
    group_class: str = "STANDARD"
    tags: dict[str, str] = field(default_factory=dict)
    stored_bytes: int = 0
    metric_filter_count: int = 0

    @property
    def arn(self) -> str:
        return group_arn(self.account, self.region, self.name)


@dataclass(frozen=True, slots=True)
class LogStream:
    group: str
    name: str
    created: int
    first_event: int | None = None
    last_event: int | None = None
    last_ingestion: int | None = None
    # The sequence number of the stream's latest event: what uploadSequenceToken is made of.
    last_seq: int | None = None
    stored_bytes: int = 0


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One stored log event; ``seq`` numbers every group's events in commit order."""

    seq: int
    account: str
    region: str
    group: str
    stream: str
    timestamp: int
    ingestion_time: int
    message: str


@dataclass(frozen=True, slots=True)
class MetricFilter:
    account: str
    region: str
    group: str
    name: str
    pattern: str
    # As PutMetricFilter takes them (metricName, metricNamespace, metricValue, defaultValue,
    # dimensions, unit); one, as the API allows.
    transformations: list[dict[str, Any]]
    created: int
