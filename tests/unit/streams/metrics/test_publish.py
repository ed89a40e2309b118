"""PutMetricData's members as one-second samples, and CloudWatch's refusals with its texts; and
GetMetricStatistics' rounding of StartTime."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.errors import ApiError
from opentrail.store.metrics import Sample
from opentrail.streams.metrics.publish import sample_of
from opentrail.streams.metrics.retrieval import rounded_start
from opentrail.streams.metrics.validation import namespace

NOW = 1_700_000_000.0
WHERE = "MetricData.member.3."


def test_one_value() -> None:
    assert sample_of({"Value": 2.5, "Timestamp": NOW - 0.5}, WHERE, NOW) == Sample(
        int(NOW) - 1, 1, 2.5, 2.5, 2.5, "None", (2.5,)
    )


def test_values_weighed_by_counts() -> None:
    sample = sample_of({"Values": [1.0, 4.0, 9.0], "Counts": [2.0, 1.0, 0.0], "Unit": "Count"}, WHERE, NOW)
    assert (sample.count, sample.total, sample.minimum, sample.maximum) == (3.0, 6.0, 1.0, 4.0)
    assert (sample.values, sample.unit) == ((1.0, 1.0, 4.0), "Count")


def test_a_statistic_set_keeps_no_values() -> None:
    stats = {"SampleCount": 3.0, "Sum": 6.0, "Minimum": 1.0, "Maximum": 3.0}
    assert sample_of({"StatisticValues": stats}, WHERE, NOW) == Sample(int(NOW), 3.0, 6.0, 1.0, 3.0)


@pytest.mark.parametrize(
    ("datum", "code", "text"),
    [
        (
            {"Value": 1.0, "Timestamp": NOW - 15 * 86400},
            "InvalidParameterValueException",
            "The parameter MetricData.member.3.Timestamp must specify a time within the past two weeks.",
        ),
        (
            {"Value": 1.0, "Timestamp": NOW + 3 * 3600},
            "InvalidParameterValueException",
            "two hours in the future",
        ),
        (
            {"Value": float("nan")},
            "InvalidParameterValueException",
            "The value nan for parameter MetricData.member.3.Value",
        ),
        ({"Value": 2.0**400}, "InvalidParameterValueException", "MetricData.member.3.Value is invalid"),
        ({"Value": 1.0, "StatisticValues": {}}, "InvalidParameterCombinationException", "mutually exclusive"),
        ({}, "MissingRequiredParameterException", "At least one of the parameters MetricData.member.3.Value"),
        (
            {"Values": [1.0], "Counts": [1.0, 2.0]},
            "InvalidParameterValueException",
            "must be of the same size",
        ),
        ({"Values": [1.0] * 151}, "InvalidParameterValueException", "greater than 150"),
        (
            {"Value": 1.0, "StorageResolution": 5},
            "InvalidParameterValueException",
            "StorageResolution is invalid",
        ),
        (
            {"Value": 1.0, "Unit": "Parsecs"},
            "InvalidParameterValueException",
            "MetricData.member.3.Unit is invalid",
        ),
        (
            {"StatisticValues": {"SampleCount": 1.0, "Sum": 1.0, "Minimum": 2.0, "Maximum": 1.0}},
            "InvalidParameterValueException",
            "Minimum must not be greater than",
        ),
        (
            {"StatisticValues": {"SampleCount": 1.0, "Sum": 1.0}},
            "MissingRequiredParameterException",
            "StatisticValues.Minimum is required",
        ),
    ],
)
def test_refusals(datum: dict[str, Any], code: str, text: str) -> None:
    with pytest.raises(ApiError) as caught:
        sample_of(datum, WHERE, NOW)
    assert caught.value.code == code
    assert text in caught.value.message


@pytest.mark.parametrize(
    ("age", "step"),
    [(3600 + 34, 60), (20 * 86400 + 34, 300), (70 * 86400 + 34, 3600)],
)
def test_start_time_is_rounded_by_its_age(age: int, step: int) -> None:
    start = NOW - age
    rounded = rounded_start(start, NOW)
    assert rounded % step == 0
    assert start - step < rounded <= start


@pytest.mark.parametrize("space", ["AWS/EC2", "App$", "Café", ":App", " "])
def test_namespaces_published_to_follow_cloudwatchs_rules(space: str) -> None:
    with pytest.raises(ApiError, match=r"for parameter Namespace is invalid|must"):
        namespace(space, publishing=True)


@pytest.mark.parametrize("space", ["App", "My App/v2", "a.b-c_d#e:f"])
def test_namespaces_cloudwatch_takes(space: str) -> None:
    assert namespace(space, publishing=True) == space
