"""Alarm evaluation: CloudWatch's documented algorithm, pure (no store, no clock of its own).

An alarm looks at its metric's datapoints over the periods that have closed: period ``k`` is
``[k * Period, (k + 1) * Period)`` in epoch seconds, and only periods that ended by ``now`` count. Each
datapoint is *breaching* or not by the ComparisonOperator and Threshold. Of the most recent N periods
(EvaluationPeriods), M (DatapointsToAlarm) breaching put the alarm in ALARM, fewer in OK.

Missing data, as AWS's "Configuring how CloudWatch alarms treat missing data" describes it
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data):
the alarm retrieves more periods than N, its *evaluation range* (N + 2 here: the documented example
retrieves 5 for N = 3), and

- with at least N datapoints in the range, the most recent N existing ones are evaluated and
  TreatMissingData is not consulted;
- with fewer, the missing ones are filled by TreatMissingData, as few as possible (N - existing):
  ``breaching`` and ``notBreaching`` fill them as that; with ``missing`` and ``ignore`` they count for
  neither: ALARM when M of the existing breach; OK when some existing one does not breach; ALARM again
  (``missing``) when "the oldest available breaching datapoint is at least as old as the value of
  Datapoints to Alarm, and all other more recent data points are breaching or missing" (the guide's
  "Avoiding premature transitions to alarm state"); otherwise INSUFFICIENT_DATA (``missing``) or the
  current state kept (``ignore``);
- with none at all: INSUFFICIENT_DATA (``missing``), the current state (``ignore``), ALARM
  (``breaching``), OK (``notBreaching``).

This reproduces every row of the guide's two tables (tests/unit/streams/alarms/test_truth_tables.py).
Where the guide's prose and its tables disagree (its own issue tracker, awsdocs/amazon-cloudwatch-user-
guide#129: ``0 - X - -`` with 2 of 3), the tables win.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from opentrail.streams.alarms.reasons import (
    evaluated_data,
    filled_reason,
    insufficient_reason,
    threshold_reason,
)
from opentrail.streams.alarms.rule import ALARM, INSUFFICIENT_DATA, OK, AlarmRule, Datapoint, breaches

__all__ = ["Assessment", "decide", "evaluate", "evaluation_range"]

# The evaluation range is N plus this many periods (the guide's example: 5 retrieved for N = 3).
EXTRA_PERIODS = 2


@dataclass(frozen=True, slots=True)
class Assessment:
    state: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


def evaluation_range(now: float, period: int, evaluation_periods: int) -> tuple[int, int]:
    """``[start, end)``: the closed periods an evaluation at ``now`` retrieves, newest ending at ``end``."""
    end = math.floor(now / period) * period
    return end - (evaluation_periods + EXTRA_PERIODS) * period, end


def decide(slots: Sequence[bool | None], n: int, m: int, treat: str) -> str | None:
    """The state for the evaluation range's ``slots`` (oldest first: True breaching, False not, None
    missing), N, M and TreatMissingData; None keeps the current state."""
    existing = [s for s in slots if s is not None]
    if len(existing) >= n:
        return ALARM if sum(existing[-n:]) >= m else OK
    if not existing:
        return {"breaching": ALARM, "notBreaching": OK, "ignore": None}.get(treat, INSUFFICIENT_DATA)
    fill = n - len(existing)
    breaching = sum(existing)
    if treat == "breaching":
        return ALARM if breaching + fill >= m else OK
    if treat == "notBreaching" or breaching >= m:
        return ALARM if breaching >= m else OK
    if not all(existing):
        return OK
    if _premature(slots, m):
        return None if treat == "ignore" else ALARM
    return None if treat == "ignore" else INSUFFICIENT_DATA


def _premature(slots: Sequence[bool | None], m: int) -> bool:
    """The oldest breaching datapoint is at least M periods old (the newest period is 1 old) and every
    more recent one breaches or is missing."""
    oldest = next((i for i, s in enumerate(slots) if s), None)
    if oldest is None:
        return False
    recent = slots[oldest + 1 :]
    return len(slots) - oldest >= m and all(s is not False for s in recent)


def _low_samples(rule: AlarmRule, point: Datapoint) -> bool:
    """A percentile over fewer samples than the guide asks for a good assessment: 10 / (1 - p) for p
    of at least 0.5, 10 / p below."""
    if not rule.statistic.startswith("p"):
        return False
    p = float(rule.statistic[1:]) / 100
    needed = 10 / (1 - p) if p >= 0.5 and p < 1 else (10 / p if 0 < p < 0.5 else math.inf)
    return point.samples < needed


def evaluate(rule: AlarmRule, datapoints: Sequence[Datapoint], now: float) -> Assessment | None:
    """The alarm's state at ``now`` from the datapoints of its evaluation range (others are left out);
    None when the current state is kept (``ignore``, or a percentile over too few samples)."""
    start, end = evaluation_range(now, rule.period, rule.evaluation_periods)
    found = {p.start: p for p in datapoints if start <= p.start < end}
    starts = list(range(start, end, rule.period))
    points = [found.get(s) for s in starts]
    existing = [p for p in points if p is not None]
    if rule.low_sample_count == "ignore" and existing and _low_samples(rule, existing[-1]):
        return None
    slots = [None if p is None else breaches(p.value, rule.comparison, rule.threshold) for p in points]
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    state = decide(slots, n, m, rule.treat_missing)
    if state is None:
        return None
    evaluated = existing[-n:]
    data = evaluated_data(rule, now, start, existing, evaluated)
    if state == INSUFFICIENT_DATA:
        return Assessment(state, insufficient_reason(n - len(existing)), data)
    if len(existing) < n and rule.treat_missing in ("breaching", "notBreaching"):
        return Assessment(state, filled_reason(len(existing), n, rule.treat_missing), data)
    if len(existing) < n and state == ALARM and sum(s is True for s in slots) < m:
        evaluated = existing  # the premature-transition case: every datapoint there is
    shown = [p for p in evaluated if breaches(p.value, rule.comparison, rule.threshold) == (state == ALARM)]
    return Assessment(state, threshold_reason(rule, state, len(evaluated), shown), data)
