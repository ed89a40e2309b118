"""GetMetricStatistics: one metric's statistics over periods, as CloudWatch computes and limits them.

- ``Period``: 1, 5, 10, 30, 60 or a multiple of 60. High-resolution periods (under 60) answer only for a
  StartTime within the past 3 hours; earlier, CloudWatch returns no datapoints, and so does this.
- ``StartTime`` is rounded down as CloudWatch documents: to the minute when less than 15 days ago, to 5
  minutes up to 63 days, to the hour beyond; ``EndTime`` is exclusive.
- At most 1,440 datapoints per call (``InvalidParameterCombination`` beyond, CloudWatch's text).
- ``Unit`` keeps only the seconds stored with that unit; without it, each unit present gives its own
  datapoints (tagged with it), as CloudWatch keeps units apart.
"""

from __future__ import annotations

import math
from typing import Any

from opentrail.context import Call
from opentrail.store.metrics import Sample
from opentrail.streams.metrics import validation as v
from opentrail.streams.metrics.statistics import aggregate, is_percentile

__all__ = ["get_metric_statistics", "rounded_start"]

MAX_DATAPOINTS = 1440
HIGH_RESOLUTION_WINDOW = 3 * 3600
DAY = 86400


def rounded_start(start: float, now: float) -> int:
    """StartTime as GetMetricStatistics rounds it."""
    age = now - start
    step = 60 if age < 15 * DAY else (300 if age < 63 * DAY else 3600)
    whole = math.floor(start)
    return whole - whole % step


def _statistics(params: dict[str, Any]) -> tuple[list[str], list[str]]:
    statistics = list(params.get("Statistics") or [])
    extended = list(params.get("ExtendedStatistics") or [])
    if not statistics and not extended:
        raise v.MissingParameter(
            "At least one of the parameters Statistics and ExtendedStatistics must be specified."
        )
    if len(statistics) > 5 or len(extended) > 10:
        raise v.InvalidParameterValue(
            "The collection Statistics must not have a size greater than 5, nor ExtendedStatistics than 10."
        )
    for i, name in enumerate(statistics, 1):
        if is_percentile(name):
            raise v.InvalidParameterValue(f"The value {name} for parameter Statistics.member.{i} is invalid.")
        v.check_statistic(name, f"Statistics.member.{i}")
    for i, name in enumerate(extended, 1):
        if not is_percentile(name):
            raise v.InvalidParameterValue(
                f"The value {name[:64]} for parameter ExtendedStatistics.member.{i} is invalid."
            )
    return statistics, extended


def _window(params: dict[str, Any], now: float) -> tuple[int, int, int]:
    for name in ("StartTime", "EndTime", "Period"):
        if params.get(name) is None:
            raise v.MissingParameter(f"The parameter {name} is required.")
    period = v.check_period(params["Period"])
    start = rounded_start(params["StartTime"], now)
    end = math.ceil(params["EndTime"])
    if params["StartTime"] >= params["EndTime"]:
        raise v.InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    wanted = math.ceil((end - start) / period)
    if wanted > MAX_DATAPOINTS:
        raise v.InvalidParameterCombination(
            f"You have requested up to {wanted} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range."
        )
    return start, end, period


def get_metric_statistics(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    key = v.metric_key(call.account, call.region, params)
    statistics, extended = _statistics(params)
    unit = v.check_unit(params.get("Unit"), "Unit")
    start, end, period = _window(params, call.now)
    if period < 60 and call.now - params["StartTime"] > HIGH_RESOLUTION_WINDOW:
        return {"Label": key.name, "Datapoints": []}
    by_unit: dict[str, list[Sample]] = {}
    for sample in call.store.metrics.samples(key, start, end):
        if unit is None or sample.unit == unit:
            by_unit.setdefault(sample.unit, []).append(sample)
    datapoints = []
    for sample_unit, samples in sorted(by_unit.items()):
        datapoints.extend(_datapoints(samples, start, end, period, statistics, extended, sample_unit))
    return {"Label": key.name, "Datapoints": datapoints}


def _datapoints(
    samples: list[Sample],
    start: int,
    end: int,
    period: int,
    statistics: list[str],
    extended: list[str],
    unit: str,
) -> list[dict[str, Any]]:
    points: dict[int, dict[str, Any]] = {}
    for statistic in statistics:
        for at, value in aggregate(samples, start, end, period, statistic):
            points.setdefault(at, {"Timestamp": float(at), "Unit": unit})[statistic] = value
    for statistic in extended:
        for at, value in aggregate(samples, start, end, period, statistic):
            point = points.setdefault(at, {"Timestamp": float(at), "Unit": unit})
            point.setdefault("ExtendedStatistics", {})[statistic] = value
    return [points[at] for at in sorted(points)]
