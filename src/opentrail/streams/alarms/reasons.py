"""The words of an alarm's state: StateReason texts and StateReasonData JSON as CloudWatch writes them.

Reasons, as CloudWatch's alarm history and notifications show them:

- ``Threshold Crossed: 1 out of the last 1 datapoints [5.0 (07/12/26 10:00:00)] was greater than the
  threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).`` (values newest first, each with
  its period's start as ``dd/MM/yy HH:mm:ss`` UTC; for OK, the datapoints that do not breach, ``was not
  greater than``, and the minimum N - M + 1 for ``ALARM -> OK``);
- ``Threshold Crossed: 1 datapoint was received for 4 periods and 3 missing datapoints were treated as
  [NonBreaching].`` (missing data filled by TreatMissingData; ``no datapoints were received`` when none);
- ``Insufficient Data: 3 datapoints were unknown.``;
- a new alarm's ``Unchecked: Initial alarm creation``.

Numbers are written as Java writes a double (CloudWatch's): ``5.0``, ``0.25``, ``1.0E7``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from opentrail.streams.alarms.rule import AlarmRule, Datapoint

__all__ = [
    "INITIAL_REASON",
    "evaluated_data",
    "filled_reason",
    "insufficient_reason",
    "number",
    "reason_time",
    "threshold_reason",
    "timestamp",
]

INITIAL_REASON = "Unchecked: Initial alarm creation"

_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
_FILLED = {"breaching": "Breaching", "notBreaching": "NonBreaching"}


def number(value: float) -> str:
    """``value`` as Java's ``Double.toString`` writes it."""
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(float(value))
        return text if "e" not in text else _scientific(value)
    return _scientific(value)


def _scientific(value: float) -> str:
    mantissa, exponent = f"{value:.15e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


def reason_time(epoch: float) -> str:
    """A datapoint's time in a reason: ``dd/MM/yy HH:mm:ss`` UTC."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%d/%m/%y %H:%M:%S")


def timestamp(epoch: float) -> str:
    """CloudWatch's time in JSON it writes (reason data, notifications): ``2026-07-12T10:00:00.000+0000``."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def threshold_reason(rule: AlarmRule, state: str, evaluated: int, shown: Sequence[Datapoint]) -> str:
    """The reason of an OK or ALARM verdict on ``evaluated`` datapoints, of which ``shown`` (oldest
    first) breach (ALARM) or do not (OK)."""
    alarm = state == "ALARM"
    listed = ", ".join(f"{number(p.value)} ({reason_time(p.start)})" for p in reversed(shown))
    verb = "was" if len(shown) == 1 else "were"
    words = _WORDS[rule.comparison] if alarm else f"not {_WORDS[rule.comparison]}"
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    minimum, transition = (m, "OK -> ALARM") if alarm else (n - m + 1, "ALARM -> OK")
    return (
        f"Threshold Crossed: {len(shown)} out of the last {evaluated} datapoints [{listed}] {verb} "
        f"{words} the threshold ({number(rule.threshold)}) "
        f"(minimum {_plural(minimum, 'datapoint')} for {transition} transition)."
    )


def filled_reason(received: int, periods: int, treat: str) -> str:
    missing = periods - received
    got = (
        "no datapoints were"
        if received == 0
        else f"{_plural(received, 'datapoint')} {'was' if received == 1 else 'were'}"
    )
    treated = f"{_plural(missing, 'missing datapoint')} {'was' if missing == 1 else 'were'}"
    during = _plural(periods, "period")
    return f"Threshold Crossed: {got} received for {during} and {treated} treated as [{_FILLED[treat]}]."


def insufficient_reason(unknown: int) -> str:
    return f"Insufficient Data: {_plural(unknown, 'datapoint')} {'was' if unknown == 1 else 'were'} unknown."


def evaluated_data(
    rule: AlarmRule, now: float, start: int, existing: Sequence[Datapoint], evaluated: Sequence[Datapoint]
) -> dict[str, Any]:
    """StateReasonData: what the evaluation looked at (CloudWatch's ``version`` 1.0 form)."""
    data: dict[str, Any] = {"version": "1.0", "queryDate": timestamp(now), "startDate": timestamp(start)}
    if rule.unit is not None:
        data["unit"] = rule.unit
    key = "extendedStatistic" if rule.statistic.startswith("p") else "statistic"
    data[key] = rule.statistic
    data["period"] = rule.period
    data["recentDatapoints"] = [p.value for p in existing]
    data["threshold"] = rule.threshold
    data["evaluatedDatapoints"] = [
        {"timestamp": timestamp(p.start), "sampleCount": p.samples, "value": p.value}
        for p in reversed(evaluated)
    ]
    return data
