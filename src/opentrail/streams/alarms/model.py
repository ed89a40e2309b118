"""A metric alarm as it is kept: CloudWatch's ``MetricAlarm`` shape (botocore's ``cloudwatch`` model),
member for member, timestamps as epoch seconds, plus what only OpenTrail needs (``INTERNAL``: its
tags, and until when a SetAlarmState holds).

An alarm watches either one metric (``MetricName``, ``Namespace``, ``Dimensions``, ``Statistic`` or
``ExtendedStatistic``, ``Period``) or a ``Metrics`` list whose one returned query is a ``MetricStat``
(metric math expressions are refused when the alarm is put).
"""

from __future__ import annotations

from typing import Any

from opentrail.store.metrics import MetricKey
from opentrail.streams.alarms.rule import AlarmRule

__all__ = [
    "ALARM_TYPE",
    "INTERNAL",
    "alarm_arn",
    "metric_key",
    "moment",
    "period",
    "returned_query",
    "rule",
    "statistic",
    "wire",
]

ALARM_TYPE = "MetricAlarm"
# Kept with the alarm, never shown as MetricAlarm members.
INTERNAL = ("Tags", "HoldUntil")


def alarm_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def moment(seconds: float) -> float:
    """A time as CloudWatch keeps an alarm's (its state, configuration and history timestamps): whole
    milliseconds, so that a timestamp a client read, in whatever precision its protocol carried, selects
    its own history item again as StartDate or EndDate."""
    return round(seconds, 3)


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """The MetricAlarm members of a kept alarm."""
    return {k: v for k, v in body.items() if k not in INTERNAL}


def returned_query(body: dict[str, Any]) -> dict[str, Any] | None:
    """The one query of a ``Metrics`` alarm whose data it evaluates; None for a single-metric alarm."""
    queries: list[dict[str, Any]] = body.get("Metrics") or []
    returned = [q for q in queries if q.get("ReturnData", True)]
    return returned[0] if returned else None


def metric_key(body: dict[str, Any], account: str, region: str) -> MetricKey:
    query = returned_query(body)
    source = query["MetricStat"]["Metric"] if query is not None else body
    dimensions = tuple(sorted((d["Name"], d["Value"]) for d in source.get("Dimensions") or []))
    return MetricKey(account, region, source["Namespace"], source["MetricName"], dimensions)


def statistic(body: dict[str, Any]) -> str:
    query = returned_query(body)
    if query is not None:
        return str(query["MetricStat"]["Stat"])
    return str(body.get("Statistic") or body.get("ExtendedStatistic"))


def period(body: dict[str, Any]) -> int:
    query = returned_query(body)
    return int(query["MetricStat"]["Period"] if query is not None else body["Period"])


def rule(body: dict[str, Any]) -> AlarmRule:
    query = returned_query(body)
    unit = query["MetricStat"].get("Unit") if query is not None else body.get("Unit")
    return AlarmRule(
        period=period(body),
        evaluation_periods=int(body["EvaluationPeriods"]),
        datapoints_to_alarm=int(body.get("DatapointsToAlarm") or body["EvaluationPeriods"]),
        threshold=float(body["Threshold"]),
        comparison=str(body["ComparisonOperator"]),
        statistic=statistic(body),
        treat_missing=str(body.get("TreatMissingData") or "missing"),
        low_sample_count=str(body.get("EvaluateLowSampleCountPercentile") or ""),
        unit=unit,
    )
