"""The alarm operations in process (``streams/alarms/operations.py``, ``queries.py``), on a real SQLite
store: PutMetricAlarm's checks and CloudWatch's errors, create and replace, DescribeAlarms' filters and
pages, DescribeAlarmsForMetric, DescribeAlarmHistory, DeleteAlarms, SetAlarmState, actions on and off,
and tags."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from opentrail.clock import FixedClock
from opentrail.errors import ApiError
from opentrail.streams.alarms.operations import OPERATIONS
from tests.support.calls import Env
from tests.unit.streams.alarms.conftest import T


def run(env: Env, account: str, operation: str, **params: Any) -> dict[str, Any]:
    return OPERATIONS[operation](env.call(account), params)


def refused(env: Env, account: str, operation: str, **params: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        run(env, account, operation, **params)
    return caught.value


def alarm(account: str, name: str = "cpu-high", **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "AlarmName": name,
        "MetricName": "Errors",
        "Namespace": "App",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "Service", "Value": "api"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [f"arn:aws:sns:us-east-1:{account}:ops"],
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def test_a_new_alarm_starts_insufficient_data(env: Env, account: str) -> None:
    assert run(env, account, "PutMetricAlarm", **alarm(account)) == {}
    (found,) = run(env, account, "DescribeAlarms")["MetricAlarms"]
    assert found == {
        "AlarmName": "cpu-high",
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{account}:alarm:cpu-high",
        "ActionsEnabled": True,
        "OKActions": [],
        "AlarmActions": [f"arn:aws:sns:us-east-1:{account}:ops"],
        "InsufficientDataActions": [],
        "MetricName": "Errors",
        "Namespace": "App",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "Service", "Value": "api"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmConfigurationUpdatedTimestamp": T,
        "StateValue": "INSUFFICIENT_DATA",
        "StateReason": "Unchecked: Initial alarm creation",
        "StateUpdatedTimestamp": T,
        "StateTransitionedTimestamp": T,
    }
    assert run(env, account, "DescribeAlarms", AlarmTypes=["CompositeAlarm"]) == {
        "MetricAlarms": [],
        "CompositeAlarms": [],
    }


def test_put_replaces_the_configuration_and_keeps_the_state(
    env: Env, account: str, clock: FixedClock
) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account))
    run(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue="ALARM", StateReason="testing")
    clock.advance(5)
    run(env, account, "PutMetricAlarm", **alarm(account, Threshold=9.0, Tags=[{"Key": "k", "Value": "v"}]))
    (found,) = run(env, account, "DescribeAlarms")["MetricAlarms"]
    assert (found["Threshold"], found["StateValue"], found["StateReason"]) == (9.0, "ALARM", "testing")
    assert found["AlarmConfigurationUpdatedTimestamp"] == T + 5
    arn = found["AlarmArn"]
    assert run(env, account, "ListTagsForResource", ResourceARN=arn) == {"Tags": []}  # ignored on update
    items = run(env, account, "DescribeAlarmHistory", HistoryItemType="ConfigurationUpdate")[
        "AlarmHistoryItems"
    ]
    assert [i["HistorySummary"] for i in items] == ['Alarm "cpu-high" updated', 'Alarm "cpu-high" created']
    update = json.loads(items[0]["HistoryData"])
    assert (update["type"], update["updatedAlarm"]["threshold"], update["originalAlarm"]["threshold"]) == (
        "Update",
        9.0,
        1.0,
    )


MODEL = botocore.session.get_session().get_service_model("cloudwatch")
INVALID = "InvalidParameterValueException"
MISSING = "MissingRequiredParameterException"
COMBINATION = "InvalidParameterCombinationException"
VALIDATION = "ValidationException"


def enum_error(value: str, member: str, shape: str) -> str:
    allowed = ", ".join(MODEL.shape_for(shape).enum)
    return (
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{allowed}]"
    )


REFUSALS = [
    ({"Period": 45}, INVALID, "The parameter Period must be 10, 20, 30 or a multiple of 60."),
    (
        {"EvaluationPeriods": 1441},
        VALIDATION,
        "Metrics cannot be checked across more than a day (EvaluationPeriods * Period must be <= 86400)",
    ),
    (
        {"EvaluationPeriods": 2, "DatapointsToAlarm": 3},
        VALIDATION,
        "DatapointsToAlarm must be less than or equal to EvaluationPeriods.",
    ),
    ({"ExtendedStatistic": "p99"}, COMBINATION, "Statistic and ExtendedStatistic cannot both be specified."),
    ({"Statistic": None}, MISSING, "The parameter Statistic or ExtendedStatistic is required."),
    (
        {"Statistic": None, "ExtendedStatistic": "p101"},
        INVALID,
        "The value p101 for parameter ExtendedStatistic is not supported.",
    ),
    ({"ComparisonOperator": None}, MISSING, "The parameter ComparisonOperator is required."),
    (
        {"ComparisonOperator": "Bigger"},
        VALIDATION,
        enum_error("Bigger", "comparisonOperator", "ComparisonOperator"),
    ),
    (
        {"ComparisonOperator": "GreaterThanUpperThreshold"},
        COMBINATION,
        "ComparisonOperator GreaterThanUpperThreshold is only valid with ThresholdMetricId.",
    ),
    (
        {"ThresholdMetricId": "ad1"},
        INVALID,
        "Anomaly detection alarms (ThresholdMetricId) are not supported by OpenTrail.",
    ),
    (
        {"TreatMissingData": "sometimes"},
        INVALID,
        "The value sometimes for parameter TreatMissingData is not supported.",
    ),
    (
        {"EvaluateLowSampleCountPercentile": "ignore"},
        COMBINATION,
        "EvaluateLowSampleCountPercentile can only be used with a percentile statistic.",
    ),
    (
        {"AlarmName": "x" * 256},
        VALIDATION,
        f"1 validation error detected: Value '{'x' * 64}' at 'alarmName' failed to satisfy constraint: "
        "Member must have length less than or equal to 255",
    ),
    ({"Threshold": None}, MISSING, "The parameter Threshold is required."),
    ({"Unit": "Parsecs"}, VALIDATION, enum_error("Parsecs", "unit", "StandardUnit")),
    (
        {"Dimensions": [{"Name": "a", "Value": "1"}, {"Name": "a", "Value": "2"}]},
        INVALID,
        "No Metric may specify the same dimension twice: a",
    ),
    ({"AlarmName": "a\x00b"}, INVALID, "The parameter AlarmName must not contain ASCII control characters."),
    ({"Namespace": ":App"}, INVALID, "The value :App for parameter Namespace is invalid."),
    (
        {"MetricName": "Errors\n"},
        INVALID,
        "The value of parameter MetricName must not contain ASCII control characters.",
    ),
    ({"Threshold": float("inf")}, INVALID, "The parameter Threshold must be a finite number."),
]


@pytest.mark.parametrize(("changes", "code", "message"), REFUSALS)
def test_put_refuses_what_cloudwatch_refuses(
    env: Env, account: str, changes: dict[str, Any], code: str, message: str
) -> None:
    params = {**alarm(account), **changes}
    err = refused(env, account, "PutMetricAlarm", **{k: v for k, v in params.items() if v is not None})
    assert (err.code, err.message) == (code, message)
    assert run(env, account, "DescribeAlarms")["MetricAlarms"] == []


def test_put_refuses_actions_that_are_not_sns_topics_of_the_region(env: Env, account: str) -> None:
    for action in ("arn:aws:automate:us-east-1:ec2:stop", f"arn:aws:sns:eu-west-1:{account}:ops", "ops"):
        err = refused(env, account, "PutMetricAlarm", **alarm(account, AlarmActions=[action]))
        assert err.code == "InvalidParameterValueException"
        assert action in err.message
    # A topic of another account (an SNS service's own): taken, as CloudWatch takes it; its policy
    # decides when it is published to.
    sns_topic = "arn:aws:sns:us-east-1:123456789012:alerts.fifo"
    run(env, account, "PutMetricAlarm", **alarm(account, AlarmActions=[sns_topic]))


def test_metric_stat_alarms_and_what_metric_math_refuses(env: Env, account: str) -> None:
    stat = {"Metric": {"Namespace": "App", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}
    base = alarm(account, MetricName=None, Namespace=None, Statistic=None, Dimensions=None, Period=None)
    run(env, account, "PutMetricAlarm", **base, Metrics=[{"Id": "m1", "MetricStat": stat}])
    (found,) = run(env, account, "DescribeAlarms")["MetricAlarms"]
    assert found["Metrics"] == [
        {
            "Id": "m1",
            "MetricStat": {**stat, "Metric": {**stat["Metric"], "Dimensions": []}},
            "ReturnData": True,
        }
    ]
    math_query = [{"Id": "m1", "MetricStat": stat, "ReturnData": False}, {"Id": "e1", "Expression": "m1 * 2"}]
    err = refused(env, account, "PutMetricAlarm", **base, Metrics=math_query)
    assert err.code == "InvalidParameterValueException"
    assert "Metric math expressions are not supported" in err.message
    two = [{"Id": "m1", "MetricStat": stat}, {"Id": "m2", "MetricStat": stat}]
    err = refused(env, account, "PutMetricAlarm", **base, Metrics=two)
    assert (err.code, err.message) == (
        "ValidationException",
        "Exactly one element of the metrics list should return data.",
    )
    err = refused(
        env, account, "PutMetricAlarm", **alarm(account), Metrics=[{"Id": "m1", "MetricStat": stat}]
    )
    assert err.code == "InvalidParameterCombinationException"


def test_the_alarm_limit(env: Env, account: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentrail.streams.alarms import operations

    monkeypatch.setattr(operations, "MAX_ALARMS", 2)
    run(env, account, "PutMetricAlarm", **alarm(account, "a"))
    run(env, account, "PutMetricAlarm", **alarm(account, "b"))
    run(env, account, "PutMetricAlarm", **alarm(account, "b", Threshold=3.0))  # a replacement is no new alarm
    err = refused(env, account, "PutMetricAlarm", **alarm(account, "c"))
    assert err.code == "LimitExceededFault"


def test_describe_alarms_filters_and_pages(env: Env, account: str) -> None:
    for name in ("web-5xx", "web-latency", "db-cpu"):
        run(env, account, "PutMetricAlarm", **alarm(account, name))
    run(env, account, "SetAlarmState", AlarmName="web-5xx", StateValue="ALARM", StateReason="r")

    def names(**params: Any) -> list[str]:
        return [a["AlarmName"] for a in run(env, account, "DescribeAlarms", **params)["MetricAlarms"]]

    assert names() == ["db-cpu", "web-5xx", "web-latency"]
    assert names(AlarmNamePrefix="web-") == ["web-5xx", "web-latency"]
    assert names(AlarmNames=["db-cpu", "nope"]) == ["db-cpu"]
    assert names(StateValue="ALARM") == ["web-5xx"]
    assert names(ActionPrefix=f"arn:aws:sns:us-east-1:{account}:o") == ["db-cpu", "web-5xx", "web-latency"]
    assert names(ActionPrefix="arn:aws:sns:us-east-1:000000000000:") == []
    first = run(env, account, "DescribeAlarms", MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["db-cpu", "web-5xx"]
    rest = run(env, account, "DescribeAlarms", MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in rest["MetricAlarms"]] == ["web-latency"]
    assert "NextToken" not in rest
    err = refused(env, account, "DescribeAlarms", StateValue="OK", NextToken=first["NextToken"])
    assert err.code == "InvalidNextToken"
    other = env.new_account()
    assert run(env, other, "DescribeAlarms")["MetricAlarms"] == []  # accounts are isolated


def test_describe_alarms_for_metric(env: Env, account: str) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account, "a"))
    run(env, account, "PutMetricAlarm", **alarm(account, "b", Dimensions=[]))
    run(env, account, "PutMetricAlarm", **alarm(account, "c", MetricName="Other"))

    def names(**params: Any) -> list[str]:
        found = run(env, account, "DescribeAlarmsForMetric", MetricName="Errors", Namespace="App", **params)
        return [a["AlarmName"] for a in found["MetricAlarms"]]

    # The metric is named with its dimensions: none given is the metric without any.
    assert names() == ["b"]
    assert names(Dimensions=[{"Name": "Service", "Value": "api"}]) == ["a"]
    assert names(Statistic="Average") == []
    assert names(Period=60, Statistic="Sum") == ["b"]


def test_delete_alarms_deletes_all_or_none(env: Env, account: str) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account, "a"))
    run(env, account, "PutMetricAlarm", **alarm(account, "b"))
    err = refused(env, account, "DeleteAlarms", AlarmNames=["a", "missing"])
    assert err.code == "ResourceNotFound"
    assert len(run(env, account, "DescribeAlarms")["MetricAlarms"]) == 2
    run(env, account, "DeleteAlarms", AlarmNames=["a", "b"])
    assert run(env, account, "DescribeAlarms")["MetricAlarms"] == []
    # History outlives the alarm.
    items = run(env, account, "DescribeAlarmHistory", AlarmName="a")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == ['Alarm "a" deleted', 'Alarm "a" created']


def test_set_alarm_state_records_the_change_and_queues_the_actions(env: Env, account: str) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account))
    data = '{"why": "drill"}'
    run(
        env,
        account,
        "SetAlarmState",
        AlarmName="cpu-high",
        StateValue="ALARM",
        StateReason="drill",
        StateReasonData=data,
    )
    (found,) = run(env, account, "DescribeAlarms")["MetricAlarms"]
    assert (found["StateValue"], found["StateReason"], found["StateReasonData"]) == ("ALARM", "drill", data)
    (item,) = run(env, account, "DescribeAlarmHistory", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(item["HistoryData"]) == {
        "version": "1.0",
        "oldState": {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"},
        "newState": {"stateValue": "ALARM", "stateReason": "drill", "stateReasonData": {"why": "drill"}},
    }
    (notice,) = env.store.list_docs("notice", account)
    assert notice.body["topic_arn"] == f"arn:aws:sns:us-east-1:{account}:ops"
    assert notice.body["subject"] == 'ALARM: "cpu-high" in US East (N. Virginia)'


def test_set_alarm_state_errors(env: Env, account: str) -> None:
    err = refused(env, account, "SetAlarmState", AlarmName="nope", StateValue="OK", StateReason="r")
    assert err.code == "ResourceNotFound"
    run(env, account, "PutMetricAlarm", **alarm(account))
    err = refused(
        env,
        account,
        "SetAlarmState",
        AlarmName="cpu-high",
        StateValue="OK",
        StateReason="r",
        StateReasonData="{nope",
    )
    assert err.code == "InvalidFormatFault"
    err = refused(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue="BAD", StateReason="r")
    assert err.code == "ValidationException"


def test_disabled_actions_queue_nothing(env: Env, account: str) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account))
    run(env, account, "DisableAlarmActions", AlarmNames=["cpu-high", "unknown"])
    (found,) = run(env, account, "DescribeAlarms")["MetricAlarms"]
    assert found["ActionsEnabled"] is False
    run(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue="ALARM", StateReason="r")
    assert env.store.list_docs("notice", account) == []
    run(env, account, "EnableAlarmActions", AlarmNames=["cpu-high"])
    run(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue="OK", StateReason="r")
    assert env.store.list_docs("notice", account) == []  # no OKActions
    run(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue="ALARM", StateReason="r")
    assert len(env.store.list_docs("notice", account)) == 1


def test_tags(env: Env, account: str) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account, Tags=[{"Key": "team", "Value": "sec"}]))
    arn = f"arn:aws:cloudwatch:us-east-1:{account}:alarm:cpu-high"
    run(env, account, "TagResource", ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    run(env, account, "UntagResource", ResourceARN=arn, TagKeys=["team"])
    assert run(env, account, "ListTagsForResource", ResourceARN=arn) == {
        "Tags": [{"Key": "env", "Value": "prod"}]
    }
    err = refused(env, account, "ListTagsForResource", ResourceARN=arn + "x")
    assert err.code == "ResourceNotFoundException"
    err = refused(env, account, "ListTagsForResource", ResourceARN="arn:aws:sns:us-east-1:1:t")
    assert err.code == "InvalidParameterValueException"


def test_history_pages_and_scans_both_ways(env: Env, account: str, clock: FixedClock) -> None:
    run(env, account, "PutMetricAlarm", **alarm(account))
    for state in ("ALARM", "OK", "ALARM"):
        clock.advance(60)
        run(env, account, "SetAlarmState", AlarmName="cpu-high", StateValue=state, StateReason=state)
    first = run(env, account, "DescribeAlarmHistory", MaxRecords=3)
    assert [i["Timestamp"] for i in first["AlarmHistoryItems"]] == [T + 180, T + 120, T + 60]
    rest = run(env, account, "DescribeAlarmHistory", MaxRecords=3, NextToken=first["NextToken"])
    assert [i["HistoryItemType"] for i in rest["AlarmHistoryItems"]] == ["ConfigurationUpdate"]
    oldest = run(
        env, account, "DescribeAlarmHistory", ScanBy="TimestampAscending", StartDate=T + 60, EndDate=T + 120
    )
    assert [i["Timestamp"] for i in oldest["AlarmHistoryItems"]] == [T + 60, T + 120]
    assert run(env, account, "DescribeAlarmHistory", AlarmTypes=["CompositeAlarm"]) == {
        "AlarmHistoryItems": []
    }
