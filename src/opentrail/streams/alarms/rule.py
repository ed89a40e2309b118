"""What alarm evaluation works on: an alarm's rule, one period's datapoint, and the states."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ALARM", "INSUFFICIENT_DATA", "OK", "STATES", "AlarmRule", "Datapoint", "breaches"]

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
STATES = (OK, ALARM, INSUFFICIENT_DATA)

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """What evaluation needs of an alarm."""

    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    statistic: str  # "Average", ... or a percentile "p99"
    treat_missing: str = "missing"
    low_sample_count: str = ""  # EvaluateLowSampleCountPercentile: "", "evaluate" or "ignore"
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Datapoint:
    """One period's statistic: ``start`` of the period (epoch seconds), its ``value`` and sample count."""

    start: int
    value: float
    samples: float = 1.0


def breaches(value: float, comparison: str, threshold: float) -> bool:
    """Whether ``value`` is on the alarming side of ``threshold`` (the four static-threshold operators)."""
    return bool(_COMPARE[comparison](value, threshold))
