"""PutMetricData: each MetricData member becomes one second's sample of its metric (``store/metrics``).

A member gives one ``Value``, or ``Values`` with optional ``Counts`` (each value counted that many
times), or a ``StatisticValues`` set; its ``Timestamp`` (default: now) must lie within the past two
weeks and at most two hours ahead, as CloudWatch accepts. ``StorageResolution`` may be 1 or 60; every
datapoint is kept at one-second resolution either way (a standard-resolution metric read with periods
of 60 s or more comes out as CloudWatch reports it). ``EntityMetricData`` is not supported and is
refused.
"""

from __future__ import annotations

import math
from typing import Any

from opentrail.context import Call
from opentrail.store.metrics import MAX_VALUES, MetricKey, Sample
from opentrail.streams.metrics import validation as v

__all__ = ["put_metric_data"]

MAX_METRIC_DATA = 1000
MAX_VALUES_PER_DATUM = 150
PAST_LIMIT = 14 * 86400
FUTURE_LIMIT = 2 * 3600
# CloudWatch rejects values it cannot store: larger than 2^360 in magnitude (or below 2^-260, but
# those it rounds to 0, as a float does here anyway).
MAX_MAGNITUDE = 2.0**360


def put_metric_data(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    space = v.namespace(params.get("Namespace"), publishing=True)
    if params.get("EntityMetricData"):
        raise v.InvalidParameterValue("The parameter EntityMetricData is not supported by this server.")
    data = params.get("MetricData")
    if not data:
        raise v.MissingParameter("The parameter MetricData is required.")
    if len(data) > MAX_METRIC_DATA:
        raise v.InvalidParameterValue(
            f"The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
        )
    now = call.now
    points = []
    for i, datum in enumerate(data, 1):
        where = f"MetricData.member.{i}."
        key = MetricKey(
            call.account,
            call.region,
            space,
            v.metric_name(datum.get("MetricName"), f"{where}MetricName"),
            v.dimensions(datum.get("Dimensions"), f"{where}Dimensions"),
        )
        points.append((key, sample_of(datum, where, now)))
    call.store.metrics.put(points)
    return {}


def sample_of(datum: dict[str, Any], where: str, now: float) -> Sample:
    """The one-second sample a MetricData member gives."""
    at = datum.get("Timestamp", now)
    if at < now - PAST_LIMIT:
        raise v.InvalidParameterValue(
            f"The parameter {where}Timestamp must specify a time within the past two weeks."
        )
    if at > now + FUTURE_LIMIT:
        raise v.InvalidParameterValue(
            f"The parameter {where}Timestamp must specify a time no more than two hours in the future."
        )
    resolution = datum.get("StorageResolution")
    if resolution not in (None, 1, 60):
        raise v.InvalidParameterValue(
            f"The value {resolution} for parameter {where}StorageResolution is invalid: must be 1 or 60."
        )
    unit = v.check_unit(datum.get("Unit"), f"{where}Unit") or "None"
    second = math.floor(at)
    given = [name for name in ("Value", "Values", "StatisticValues") if datum.get(name) is not None]
    if len(given) > 1:
        raise v.InvalidParameterCombination(
            f"The parameters {where}{given[0]} and {where}{given[1]} are mutually exclusive and you have "
            "specified both."
        )
    if not given:
        raise v.MissingParameter(
            f"At least one of the parameters {where}Value, {where}Values or {where}StatisticValues "
            "must be specified."
        )
    if given[0] == "Value":
        value = _value(datum["Value"], f"{where}Value")
        return Sample(second, 1, value, value, value, unit, (value,))
    if given[0] == "Values":
        return _values(datum, where, second, unit)
    return _statistic_set(datum["StatisticValues"], f"{where}StatisticValues.", second, unit)


def _value(value: float, where: str) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise v.InvalidParameterValue(f"The value {value} for parameter {where} is invalid.")
    return value


def _values(datum: dict[str, Any], where: str, second: int, unit: str) -> Sample:
    values = [_value(x, f"{where}Values.member.{i}") for i, x in enumerate(datum["Values"], 1)]
    counts = datum.get("Counts")
    if not values:
        raise v.MissingParameter(f"The parameter {where}Values must contain at least one value.")
    if len(values) > MAX_VALUES_PER_DATUM:
        raise v.InvalidParameterValue(
            f"The collection {where}Values must not have a size greater than {MAX_VALUES_PER_DATUM}."
        )
    if counts is None:
        counts = [1.0] * len(values)
    elif len(counts) != len(values):
        raise v.InvalidParameterValue(
            f"The parameters {where}Values and {where}Counts must be of the same size."
        )
    for i, count in enumerate(counts, 1):
        if not math.isfinite(count) or count < 0:
            raise v.InvalidParameterValue(
                f"The value {count} for parameter {where}Counts.member.{i} is invalid."
            )
    kept: list[float] = []
    for value, count in zip(values, counts, strict=True):
        # Percentiles weigh a value by its count: it is kept that many times (whole counts, while room).
        kept.extend([value] * min(max(round(count), 0), MAX_VALUES - len(kept)))
    total = math.fsum(x * c for x, c in zip(values, counts, strict=True))
    weighted = [x for x, c in zip(values, counts, strict=True) if c > 0] or values
    return Sample(second, math.fsum(counts), total, min(weighted), max(weighted), unit, tuple(kept))


def _statistic_set(stats: dict[str, Any], where: str, second: int, unit: str) -> Sample:
    for name in ("SampleCount", "Sum", "Minimum", "Maximum"):
        if name not in stats:
            raise v.MissingParameter(f"The parameter {where}{name} is required.")
        _value(stats[name], f"{where}{name}")
    if stats["SampleCount"] <= 0:
        raise v.InvalidParameterValue(
            f"The value {stats['SampleCount']} for parameter {where}SampleCount is invalid: must be positive."
        )
    if stats["Minimum"] > stats["Maximum"]:
        raise v.InvalidParameterValue(
            f"The parameter {where}Minimum must not be greater than {where}Maximum."
        )
    return Sample(second, stats["SampleCount"], stats["Sum"], stats["Minimum"], stats["Maximum"], unit)
