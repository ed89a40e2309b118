"""Metric math: the supported subset evaluates as CloudWatch does, and everything else is refused with
ValidationError naming the query, never evaluated wrongly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.errors import ApiError
from opentrail.streams.metrics.expressions import Series, parse
from opentrail.streams.metrics.validation import ValidationError

SERIES: dict[str, Series] = {
    "m1": {0: 1.0, 60: 2.0, 120: 3.0},
    "m2": {0: 2.0, 60: 0.0},
    "bytes": {0: 10.0, 120: 30.0},
}
LABELS = {"m1": "Errors", "m2": "Requests", "bytes": "Bytes"}


def evaluate(text: str) -> Series:
    def metrics(label: str | None) -> list[Series]:
        return [SERIES[i] for i in SERIES if label is None or label in LABELS[i]]

    def resolve(ident: str) -> Series:
        if ident not in SERIES:
            raise ValidationError(f"unrecognized metric id {ident}")  # as GetMetricData's resolver does
        return SERIES[ident]

    return parse(text, "e1").evaluate(resolve, metrics)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m1+m2", {0: 3.0, 60: 2.0}),
        ("m1/m2*100", {0: 50.0}),  # 60: division by zero leaves the datapoint out; 120: m2 missing
        ("m1 - 2 * m1", {0: -1.0, 60: -2.0, 120: -3.0}),
        ("(m1 + 1) * 2", {0: 4.0, 60: 6.0, 120: 8.0}),
        ("-m1", {0: -1.0, 60: -2.0, 120: -3.0}),
        ("SUM(METRICS())", {0: 13.0, 60: 2.0, 120: 33.0}),
        ('MAX(METRICS("Re"))', {0: 2.0, 60: 0.0}),
        ("AVG([m1, m2])", {0: 1.5, 60: 1.0, 120: 3.0}),
        ("MIN([m1, bytes])", {0: 1.0, 60: 2.0, 120: 3.0}),
        ("ABS(m2 - m1)", {0: 1.0, 60: 2.0}),
        ("bytes / 1e1", {0: 1.0, 120: 3.0}),
    ],
)
def test_supported_expressions(text: str, expected: Series) -> None:
    assert evaluate(text) == expected


def test_references_are_collected() -> None:
    assert parse("m1 + SUM([m2, bytes])", "e").references == {"m1", "m2", "bytes"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('SEARCH("{AWS/EC2}", "Average", 60)', "unsupported function SEARCH"),
        ("FILL(m1, 0)", "unsupported function FILL"),
        ("SELECT AVG(x) FROM y", "unsupported"),
        ("m1 +", "expected more"),
        ("m1 $ m2", "unexpected character"),
        ("2 + 3", "must evaluate to one time series"),
        ("METRICS() + 1", "arithmetic on a list"),
        ("(m1", "expected )"),
    ],
)
def test_what_is_not_supported_is_refused(text: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        evaluate(text)
    assert caught.value.code == "ValidationException"
    assert message in caught.value.message
    assert "e1" in caught.value.message


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet='m12b +-*/()[],.eE"SUMAVGINXBFL', max_size=30))
def test_any_text_evaluates_or_is_a_validation_error(text: str) -> None:
    outcome: object
    try:
        outcome = evaluate(text)
    except ApiError as err:
        outcome = err.code
    assert isinstance(outcome, dict) or outcome == "ValidationException"
