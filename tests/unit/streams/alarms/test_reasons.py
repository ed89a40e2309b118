"""The words of an alarm's state (``streams/alarms/reasons.py``): numbers as Java writes a double,
datapoint times, CloudWatch's JSON timestamps, and the singular and plural of its reasons."""

from __future__ import annotations

import pytest

from opentrail.streams.alarms.reasons import (
    filled_reason,
    insufficient_reason,
    number,
    reason_time,
    timestamp,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5.0, "5.0"),
        (0.0, "0.0"),
        (-3.0, "-3.0"),
        (0.25, "0.25"),
        (6.046241709654764, "6.046241709654764"),
        (1234567.5, "1234567.5"),
        (1e7, "1.0E7"),
        (12345678.0, "1.2345678E7"),
        (0.0001, "1.0E-4"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
    ],
)
def test_numbers_are_written_as_java_writes_a_double(value: float, text: str) -> None:
    assert number(value) == text


def test_times() -> None:
    assert reason_time(1_534_367_700) == "15/08/18 21:15:00"
    assert timestamp(1_534_367_700.0456) == "2018-08-15T21:15:00.045+0000"


def test_singular_and_plural() -> None:
    assert insufficient_reason(1) == "Insufficient Data: 1 datapoint was unknown."
    assert insufficient_reason(2) == "Insufficient Data: 2 datapoints were unknown."
    assert filled_reason(1, 4, "notBreaching") == (
        "Threshold Crossed: 1 datapoint was received for 4 periods and 3 missing datapoints were treated as "
        "[NonBreaching]."
    )
    assert filled_reason(0, 1, "breaching") == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as "
        "[Breaching]."
    )
