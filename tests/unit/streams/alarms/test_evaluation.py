"""Alarm evaluation (``streams/alarms/evaluation.py``): closed periods only, every operator, M of N,
every TreatMissingData, the reasons CloudWatch writes and the StateReasonData it records."""

from __future__ import annotations

import pytest

from opentrail.streams.alarms.evaluation import decide, evaluate, evaluation_range
from opentrail.streams.alarms.rule import AlarmRule, Datapoint, breaches

# 2026-07-12T10:00:00Z, a minute boundary.
T = 1_783_850_400
assert T % 60 == 0


def rule(**changes: object) -> AlarmRule:
    base: dict[str, object] = {
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "threshold": 1.0,
        "comparison": "GreaterThanThreshold",
        "statistic": "Sum",
    }
    base.update(changes)
    return AlarmRule(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("comparison", "below", "equal", "above"),
    [
        ("GreaterThanOrEqualToThreshold", False, True, True),
        ("GreaterThanThreshold", False, False, True),
        ("LessThanThreshold", True, False, False),
        ("LessThanOrEqualToThreshold", True, True, False),
    ],
)
def test_every_operator(comparison: str, below: bool, equal: bool, above: bool) -> None:
    assert [breaches(v, comparison, 1.0) for v in (0.5, 1.0, 1.5)] == [below, equal, above]


def test_only_closed_periods_are_evaluated() -> None:
    assert evaluation_range(T + 59.9, 60, 1) == (T - 180, T)
    assert evaluation_range(T + 60, 60, 1) == (T - 120, T + 60)
    # A datapoint of the period still open is not looked at.
    assert evaluate(rule(), [Datapoint(T, 5.0)], T + 30) is not None
    verdict = evaluate(rule(), [Datapoint(T, 5.0)], T + 30)
    assert verdict is not None
    assert verdict.state == "INSUFFICIENT_DATA"


def test_the_alarm_reason_is_cloudwatchs() -> None:
    verdict = evaluate(rule(), [Datapoint(T, 5.0)], T + 60.5)
    assert verdict is not None
    assert verdict.state == "ALARM"
    assert verdict.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (12/07/26 10:00:00)] was greater than the "
        "threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


def test_the_ok_reason_names_the_datapoints_that_do_not_breach() -> None:
    points = [Datapoint(T, 0.5), Datapoint(T + 60, 3.0), Datapoint(T + 120, 0.25)]
    verdict = evaluate(rule(evaluation_periods=3, datapoints_to_alarm=2), points, T + 180)
    assert verdict is not None
    assert verdict.state == "OK"
    assert verdict.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints "
        "[0.25 (12/07/26 10:02:00), 0.5 (12/07/26 10:00:00)] "
        "were not greater than the threshold (1.0) (minimum 2 datapoints for ALARM -> OK transition)."
    )


def test_m_of_n_lists_the_breaching_datapoints_newest_first() -> None:
    points = [Datapoint(T, 7.0), Datapoint(T + 60, 0.0), Datapoint(T + 120, 2.0)]
    verdict = evaluate(
        rule(evaluation_periods=3, datapoints_to_alarm=2, comparison="GreaterThanOrEqualToThreshold"),
        points,
        T + 180,
    )
    assert verdict is not None
    assert verdict.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints "
        "[2.0 (12/07/26 10:02:00), 7.0 (12/07/26 10:00:00)] "
        "were greater than or equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition)."
    )


def test_only_the_most_recent_n_existing_datapoints_count() -> None:
    # Five datapoints in the range: the oldest two breaching ones are not among the last three.
    points = [Datapoint(T + 60 * i, v) for i, v in enumerate([9.0, 9.0, 0.0, 0.0, 9.0])]
    verdict = evaluate(rule(evaluation_periods=3, datapoints_to_alarm=2), points, T + 300)
    assert verdict is not None
    assert verdict.state == "OK"


def test_insufficient_data_reason() -> None:
    verdict = evaluate(rule(evaluation_periods=3, datapoints_to_alarm=3), [], T + 300)
    assert verdict is not None
    assert (verdict.state, verdict.reason) == (
        "INSUFFICIENT_DATA",
        "Insufficient Data: 3 datapoints were unknown.",
    )
    one = evaluate(rule(), [], T + 300)
    assert one is not None
    assert one.reason == "Insufficient Data: 1 datapoint was unknown."


NONE = "Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were"
ONE = "Threshold Crossed: 1 datapoint was received for 3 periods and 2 missing datapoints were"
TWO = "Threshold Crossed: 2 datapoints were received for 3 periods and 1 missing datapoint was"


@pytest.mark.parametrize(
    ("treat", "received", "state", "reason"),
    [
        ("breaching", 0, "ALARM", f"{NONE} treated as [Breaching]."),
        ("notBreaching", 0, "OK", f"{NONE} treated as [NonBreaching]."),
        ("notBreaching", 1, "OK", f"{ONE} treated as [NonBreaching]."),
        ("breaching", 1, "ALARM", f"{ONE} treated as [Breaching]."),
        # As few missing datapoints as possible: two that do not breach leave one to fill, too few.
        ("breaching", 2, "OK", f"{TWO} treated as [Breaching]."),
    ],
)
def test_missing_data_filled_by_treatment(treat: str, received: int, state: str, reason: str) -> None:
    points = [Datapoint(T + 240 - 60 * i, 0.0) for i in range(received)]
    verdict = evaluate(
        rule(evaluation_periods=3, datapoints_to_alarm=2, treat_missing=treat), points, T + 300
    )
    assert verdict is not None
    assert (verdict.state, verdict.reason) == (state, reason)


def test_ignore_keeps_the_state_when_nothing_arrived() -> None:
    assert evaluate(rule(treat_missing="ignore"), [], T + 300) is None


def test_the_premature_transition_rule_under_missing() -> None:
    # The guide: an alarm goes to ALARM when the oldest breaching datapoint is at least M periods old
    # and everything after it breaches or is missing; a recent one alone is not enough.
    assert decide([True, None, None, None, None], 3, 3, "missing") == "ALARM"
    assert decide([None, None, True, None, None], 3, 3, "missing") == "ALARM"
    assert decide([None, None, None, True, None], 3, 3, "missing") == "INSUFFICIENT_DATA"
    assert decide([None, None, None, True, None], 3, 2, "missing") == "ALARM"
    assert decide([None, None, None, True, None], 3, 3, "ignore") is None
    assert decide([None, True, None, True, None], 3, 2, "missing") == "ALARM"  # M reached among existing


def test_state_reason_data_is_what_cloudwatch_records() -> None:
    verdict = evaluate(rule(unit="Count"), [Datapoint(T, 5.0, samples=3.0)], T + 60.25)
    assert verdict is not None
    assert verdict.data == {
        "version": "1.0",
        "queryDate": "2026-07-12T10:01:00.250+0000",
        "startDate": "2026-07-12T09:58:00.000+0000",
        "unit": "Count",
        "statistic": "Sum",
        "period": 60,
        "recentDatapoints": [5.0],
        "threshold": 1.0,
        "evaluatedDatapoints": [
            {"timestamp": "2026-07-12T10:00:00.000+0000", "sampleCount": 3.0, "value": 5.0}
        ],
    }


def test_a_percentile_over_too_few_samples_is_ignored_when_asked() -> None:
    low = rule(statistic="p99", low_sample_count="ignore")
    assert evaluate(low, [Datapoint(T, 5.0, samples=999.0)], T + 60) is None  # p99 wants 1000
    enough = evaluate(low, [Datapoint(T, 5.0, samples=1000.0)], T + 60)
    assert enough is not None
    assert enough.state == "ALARM"
    assert enough.data["extendedStatistic"] == "p99"
    evaluated = evaluate(
        rule(statistic="p99", low_sample_count="evaluate"), [Datapoint(T, 5.0, samples=1.0)], T + 60
    )
    assert evaluated is not None
    assert evaluated.state == "ALARM"


def test_ten_second_periods() -> None:
    ten = rule(period=10, evaluation_periods=1)
    verdict = evaluate(ten, [Datapoint(T + 10, 2.0)], T + 20.4)
    assert verdict is not None
    assert verdict.state == "ALARM"
    assert "[2.0 (12/07/26 10:00:10)]" in verdict.reason
