"""Every refusal of the alarm operations, over the wire in each protocol, as botocore parses it: the
cloudwatch model's query code (JSON and CBOR carry it in ``x-amzn-query-error``), its HTTP status and
CloudWatch's text. The clients skip botocore's own parameter validation, so that what botocore would
refuse before sending (a missing member, a number under its minimum) reaches the server's checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support.alarms import alarm, refusal, unique
from tests.support.server import Credentials

SNS = "arn:aws:sns:us-east-1:123456789012:ops"
METRIC_QUERY = {
    "Id": "m1",
    "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "Sum"},
}
NO_METRIC = {"Namespace": None, "MetricName": None, "Statistic": None, "Period": None}


@pytest.fixture(params=("json", "query", "smithy-rpc-v2-cbor"))
def loose(request: pytest.FixtureRequest, cloudwatch_for: Callable[..., Any], creds: Credentials) -> Any:
    """A client of each protocol that sends what it is given."""
    return cloudwatch_for(request.param, creds, validate=False)


@pytest.fixture(scope="package")
def existing(cloudwatch_for: Callable[..., Any], creds: Credentials) -> str:
    """An alarm for the refusals of calls naming an existing alarm (it must come out unchanged)."""
    name = unique("exists")
    cloudwatch_for("json", creds).put_metric_alarm(**alarm(name))
    return name


VALIDATION = ("ValidationError", 400)
INVALID = ("InvalidParameterValue", 400)
COMBINATION = ("InvalidParameterCombination", 400)
MISSING = ("MissingParameter", 400)

PUT_REFUSALS: list[tuple[str, dict[str, Any], tuple[str, int], str]] = [
    ("long name", {"AlarmName": "n" * 256}, VALIDATION, "Member must have length less than or equal to 255"),
    ("no name", {"AlarmName": None}, MISSING, "The parameter AlarmName is required."),
    ("control character in name", {"AlarmName": "alarm\x00name"}, INVALID, "ASCII control characters"),
    ("line break in name", {"AlarmName": "alarm\nname"}, INVALID, "ASCII control characters"),
    ("long description", {"AlarmDescription": "d" * 1025}, VALIDATION, "less than or equal to 1024"),
    ("statistic outside the enum", {"Statistic": "Median"}, VALIDATION, "Member must satisfy enum value set"),
    ("both statistics", {"ExtendedStatistic": "p99"}, COMBINATION, "cannot both be specified"),
    ("no statistic", {"Statistic": None}, MISSING, "Statistic or ExtendedStatistic"),
    ("bad percentile", {"Statistic": None, "ExtendedStatistic": "p101"}, INVALID, "ExtendedStatistic"),
    ("no namespace", {"Namespace": None}, MISSING, "The parameter Namespace is required."),
    ("namespace outside its pattern", {"Namespace": ":ns"}, INVALID, "The value :ns for parameter Namespace"),
    (
        "query namespace outside its pattern",
        {
            **NO_METRIC,
            "Metrics": [
                {
                    **METRIC_QUERY,
                    "MetricStat": {
                        **METRIC_QUERY["MetricStat"],
                        "Metric": {"Namespace": ":ns", "MetricName": "M"},
                    },
                }
            ],
        },
        INVALID,
        "The value :ns for parameter",
    ),
    ("control character in metric name", {"MetricName": "m\x00"}, INVALID, "ASCII control characters"),
    ("control character in namespace", {"Namespace": "n\x1f"}, INVALID, "ASCII control characters"),
    (
        "control character in a dimension",
        {"Dimensions": [{"Name": "d", "Value": "v\x00"}]},
        INVALID,
        "ASCII control characters",
    ),
    ("period of 45", {"Period": 45}, INVALID, "multiple of 60"),
    ("period of 0", {"Period": 0}, VALIDATION, "greater than or equal to 1"),
    ("no period", {"Period": None}, MISSING, "Period"),
    ("unit outside the enum", {"Unit": "Parsecs"}, VALIDATION, "enum value set"),
    ("zero evaluation periods", {"EvaluationPeriods": 0}, VALIDATION, "greater than or equal to 1"),
    ("over a day", {"Period": 10, "EvaluationPeriods": 8641}, VALIDATION, "more than a day"),
    ("over seven days", {"Period": 3600, "EvaluationPeriods": 169}, VALIDATION, "more than 7 days"),
    ("M over N", {"EvaluationPeriods": 2, "DatapointsToAlarm": 3}, VALIDATION, "DatapointsToAlarm"),
    ("bad treatment", {"TreatMissingData": "sometimes"}, INVALID, "TreatMissingData"),
    (
        "low-sample rule without a percentile",
        {"EvaluateLowSampleCountPercentile": "ignore"},
        COMBINATION,
        "percentile",
    ),
    ("operator outside the enum", {"ComparisonOperator": "Bigger"}, VALIDATION, "enum value set"),
    ("band operator", {"ComparisonOperator": "LessThanLowerThreshold"}, COMBINATION, "ThresholdMetricId"),
    ("no operator", {"ComparisonOperator": None}, MISSING, "ComparisonOperator"),
    ("no threshold", {"Threshold": None}, MISSING, "The parameter Threshold is required."),
    ("anomaly detection", {"ThresholdMetricId": "ad1"}, INVALID, "ThresholdMetricId"),
    ("EC2 action", {"AlarmActions": ["arn:aws:automate:us-east-1:ec2:stop"]}, INVALID, "SNS"),
    ("topic of another region", {"OKActions": [SNS.replace("us-east-1", "eu-west-1")]}, INVALID, "region"),
    ("six actions", {"AlarmActions": [SNS] * 6}, VALIDATION, "less than or equal to 5"),
    ("same dimension twice", {"Dimensions": [{"Name": "a", "Value": "1"}] * 2}, INVALID, "twice"),
    (
        "31 dimensions",
        {"Dimensions": [{"Name": f"d{i}", "Value": "v"} for i in range(31)]},
        VALIDATION,
        "less than or equal to 30",
    ),
    ("dimension without value", {"Dimensions": [{"Name": "a"}]}, MISSING, "Value"),
    ("51 tags", {"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, INVALID, "50"),
    ("long tag key", {"Tags": [{"Key": "k" * 129, "Value": "v"}]}, VALIDATION, "128"),
    ("newer member", {"EvaluationInterval": 60}, INVALID, "EvaluationInterval"),
    ("metrics and a metric", {"Metrics": [METRIC_QUERY]}, COMBINATION, "mutually exclusive"),
    (
        "metric math",
        {**NO_METRIC, "Metrics": [METRIC_QUERY, {"Id": "e1", "Expression": "m1*2"}]},
        INVALID,
        "Metric math",
    ),
    (
        "two returned queries",
        {**NO_METRIC, "Metrics": [METRIC_QUERY, {**METRIC_QUERY, "Id": "m2"}]},
        VALIDATION,
        "Exactly one element of the metrics list should return data.",
    ),
    (
        "cross-account query",
        {**NO_METRIC, "Metrics": [{**METRIC_QUERY, "AccountId": "111122223333"}]},
        INVALID,
        "AccountId",
    ),
    ("bad query id", {**NO_METRIC, "Metrics": [{**METRIC_QUERY, "Id": "M1"}]}, INVALID, "lowercase"),
    ("query without stat", {**NO_METRIC, "Metrics": [{"Id": "m1"}]}, MISSING, "MetricStat"),
]


@pytest.mark.parametrize(
    ("members", "expected", "text"),
    [pytest.param(members, expected, text, id=case) for case, members, expected, text in PUT_REFUSALS],
)
def test_put_metric_alarm_refusals(loose: Any, members: dict[str, Any], expected: Any, text: str) -> None:
    name = unique("refused")
    code, status, message = refusal(loose.put_metric_alarm, **alarm(name, **members))
    assert (code, status) == expected, message
    assert text in message
    assert loose.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"] == []


def test_reading_refusals(loose: Any) -> None:
    cases: list[tuple[Callable[..., Any], dict[str, Any], tuple[str, int], str]] = [
        (loose.describe_alarms, {"MaxRecords": 101}, VALIDATION, "between 1 and 100"),
        (loose.describe_alarms, {"MaxRecords": 0}, VALIDATION, "between 1 and 100"),
        (loose.describe_alarms, {"StateValue": "BROKEN"}, VALIDATION, "enum value set"),
        (loose.describe_alarms, {"AlarmNames": ["a"], "AlarmNamePrefix": "a"}, COMBINATION, "both"),
        (loose.describe_alarms, {"AlarmNames": ["a"] * 101}, VALIDATION, "100"),
        (loose.describe_alarms, {"AlarmTypes": ["LogAlarms"]}, VALIDATION, "enum value set"),
        (loose.describe_alarms, {"NextToken": "forged"}, ("InvalidNextToken", 400), ""),
        (loose.describe_alarm_history, {"HistoryItemType": "Everything"}, VALIDATION, "enum value set"),
        (loose.describe_alarm_history, {"ScanBy": "Sideways"}, VALIDATION, "enum value set"),
        (loose.describe_alarm_history, {"MaxRecords": 0}, VALIDATION, "between 1 and 100"),
        (
            loose.describe_alarm_history,
            {"StartDate": datetime(2026, 2, 1, tzinfo=UTC), "EndDate": datetime(2026, 1, 1, tzinfo=UTC)},
            INVALID,
            "StartDate",
        ),
        (loose.describe_alarm_history, {"NextToken": "forged"}, ("InvalidNextToken", 400), ""),
        (loose.describe_alarms_for_metric, {"Namespace": "N"}, MISSING, "MetricName"),
        (
            loose.describe_alarms_for_metric,
            {"Namespace": "N", "MetricName": "M", "Statistic": "Median"},
            VALIDATION,
            "enum value set",
        ),
        (
            loose.describe_alarms_for_metric,
            {"Namespace": "N", "MetricName": "M", "Unit": "Parsecs"},
            VALIDATION,
            "enum value set",
        ),
    ]
    for call, params, expected, text in cases:
        code, status, message = refusal(call, **params)
        assert (code, status) == expected, (params, message)
        assert text in message, params


def test_state_and_deletion_refusals(loose: Any, existing: str) -> None:
    absent = unique("absent")
    cases: list[tuple[Callable[..., Any], dict[str, Any], tuple[str, int], str]] = [
        (
            loose.set_alarm_state,
            {"AlarmName": absent, "StateValue": "OK", "StateReason": "r"},
            ("ResourceNotFound", 404),
            absent,
        ),
        (
            loose.set_alarm_state,
            {"AlarmName": existing, "StateValue": "RED", "StateReason": "r"},
            VALIDATION,
            "enum value set",
        ),
        (loose.set_alarm_state, {"AlarmName": existing, "StateValue": "OK"}, MISSING, "StateReason"),
        (
            loose.set_alarm_state,
            {"AlarmName": existing, "StateValue": "OK", "StateReason": "r" * 1024},
            VALIDATION,
            "1023",
        ),
        (
            loose.set_alarm_state,
            {"AlarmName": existing, "StateValue": "OK", "StateReason": "r", "StateReasonData": "{not json"},
            ("InvalidFormat", 400),
            "StateReasonData",
        ),
        (loose.set_alarm_state, {"StateValue": "OK", "StateReason": "r"}, MISSING, "AlarmName"),
        (loose.delete_alarms, {"AlarmNames": [absent]}, ("ResourceNotFound", 404), absent),
        (loose.delete_alarms, {"AlarmNames": ["a"] * 101}, VALIDATION, "100"),
        (loose.delete_alarms, {}, MISSING, "AlarmNames"),
        (loose.enable_alarm_actions, {"AlarmNames": ["a"] * 101}, VALIDATION, "100"),
        (loose.disable_alarm_actions, {}, MISSING, "AlarmNames"),
        (loose.tag_resource, {"ResourceARN": SNS, "Tags": []}, INVALID, "ResourceARN"),
        (loose.tag_resource, {"ResourceARN": "not an arn", "Tags": []}, INVALID, "ResourceARN"),
        (loose.untag_resource, {"ResourceARN": SNS}, MISSING, "TagKeys"),
        (loose.list_tags_for_resource, {}, MISSING, "ResourceARN"),
        (
            loose.list_tags_for_resource,
            {"ResourceARN": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a\x00b"},
            INVALID,
            "is not the ARN of a CloudWatch alarm",
        ),
        (loose.describe_alarm_history, {"AlarmName": "a\x00b"}, INVALID, "ASCII control characters"),
        (loose.delete_alarms, {"AlarmNames": ["a\x00b"]}, INVALID, "ASCII control characters"),
        (
            loose.set_alarm_state,
            {
                "AlarmName": existing,
                "StateValue": "OK",
                "StateReason": "r",
                "StateReasonData": "[" * 2000 + "]" * 2000,
            },
            ("InvalidFormat", 400),
            "StateReasonData",
        ),
    ]
    for call, params, expected, text in cases:
        code, status, message = refusal(call, **params)
        assert (code, status) == expected, (params, message)
        assert text in message, params
    [kept] = loose.describe_alarms(AlarmNames=[existing])["MetricAlarms"]
    assert kept["StateValue"] == "INSUFFICIENT_DATA"


def test_a_threshold_no_number_holds_is_refused(loose: Any) -> None:
    """Infinity and NaN: query's texts are InvalidParameterValue, JSON's (strings where a number goes)
    and CBOR's (floats) MalformedInput; never an alarm kept with a threshold it cannot evaluate."""
    name = unique("infinite")
    for value in (float("inf"), float("-inf"), float("nan")):
        code, status, message = refusal(loose.put_metric_alarm, **alarm(name, Threshold=value))
        assert (code, status) in (INVALID, ("MalformedInput", 400)), message
        assert "Threshold" in message
    assert loose.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"] == []


def test_an_alarm_name_in_utf8_is_taken(loose: Any) -> None:
    """The model: "only UTF-8 characters, and can't contain ASCII control characters"."""
    name = unique("Störung") + "警報"
    loose.put_metric_alarm(**alarm(name))
    [found] = loose.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert found["AlarmArn"].endswith(f":alarm:{name}")
    assert loose.list_tags_for_resource(ResourceARN=found["AlarmArn"])["Tags"] == []
    loose.delete_alarms(AlarmNames=[name])
