"""AWS's published tables of alarm states with missing data, every row, as test vectors.

Source: Amazon CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data", section
"How alarm state is evaluated when data is missing"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-evaluating-missing-data;
the guide's source, awsdocs/amazon-cloudwatch-user-guide doc_source/AlarmThatSendsEmail.md). In a row,
``0`` is a datapoint that does not breach, ``X`` one that breaches, ``-`` a missing one, oldest first;
the evaluation range is the 5 most recent periods. ``RETAIN`` is the guide's "Retain current state".

Each row runs twice: through ``decide`` (the table's own terms) and through ``evaluate`` with real
datapoints and a threshold, so the vectors hold for the whole evaluation, not only the decision.
"""

from __future__ import annotations

import pytest

from opentrail.streams.alarms.evaluation import decide, evaluate, evaluation_range
from opentrail.streams.alarms.rule import AlarmRule, Datapoint

RETAIN = None
INSUFFICIENT = "INSUFFICIENT_DATA"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")

# (datapoints, MISSING, IGNORE, BREACHING, NOT BREACHING): Datapoints to Alarm 3, Evaluation Periods 3.
THREE_OF_THREE = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", INSUFFICIENT, RETAIN, "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - - - X", INSUFFICIENT, RETAIN, "ALARM", "OK"),
    ("X - - - -", "ALARM", RETAIN, "ALARM", "OK"),
]
# The same for Datapoints to Alarm 2, Evaluation Periods 3 (a 2 out of 3 alarm).
TWO_OF_THREE = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - - X", INSUFFICIENT, RETAIN, "ALARM", "OK"),
]

CASES = [(3, row[0], treat, row[i + 1]) for row in THREE_OF_THREE for i, treat in enumerate(TREATMENTS)] + [
    (2, row[0], treat, row[i + 1]) for row in TWO_OF_THREE for i, treat in enumerate(TREATMENTS)
]
SYMBOL = {"0": False, "X": True, "-": None}
PERIOD = 300
NOW = 1_800_000_000 + 17  # 17 s into a period: the evaluation sees the five periods before it


def slots(row: str) -> list[bool | None]:
    return [SYMBOL[s] for s in row.split()]


@pytest.mark.parametrize(("m", "row", "treat", "expected"), CASES)
def test_the_decision_matches_the_guide(m: int, row: str, treat: str, expected: str | None) -> None:
    assert decide(slots(row), 3, m, treat) == expected


@pytest.mark.parametrize(("m", "row", "treat", "expected"), CASES)
def test_the_evaluation_matches_the_guide(m: int, row: str, treat: str, expected: str | None) -> None:
    rule = AlarmRule(PERIOD, 3, m, 1.0, "GreaterThanThreshold", "Maximum", treat)
    start, end = evaluation_range(NOW, PERIOD, 3)
    assert end - start == 5 * PERIOD
    points = [
        Datapoint(start + i * PERIOD, 5.0 if symbol == "X" else 0.5)
        for i, symbol in enumerate(row.split())
        if symbol != "-"
    ]
    verdict = evaluate(rule, points, NOW)
    assert (None if verdict is None else verdict.state) == expected
