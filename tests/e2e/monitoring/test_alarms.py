"""CloudWatch's alarm operations over the wire with boto3, once per protocol the model lists (JSON 1.0,
query, rpc-v2-cbor): PutMetricAlarm creating and replacing, DescribeAlarms (filters, pages),
DescribeAlarmsForMetric, SetAlarmState, Enable/DisableAlarmActions, DeleteAlarms, the tags of an
alarm's ARN; timestamps come back as datetimes; another account sees none of it; each call is audited.
The refusals are test_alarm_errors.py's, the history test_alarm_history.py's, evaluation by the running
server test_alarm_evaluation.py's."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions
import pytest

from tests.support.alarms import REGION, alarm, aware, names, refusal, request_id, unique
from tests.support.audit import recorded
from tests.support.server import Credentials, Server

TOPIC = "arn:aws:sns:us-east-1:123456789012:ops"


def one(cloudwatch: Any, name: str) -> dict[str, Any]:
    [found] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(found)


def test_a_new_alarm_is_insufficient_data_with_its_configuration(cloudwatch: Any, creds: Credentials) -> None:
    name = unique("new") + "api errors"
    before = time.time()
    cloudwatch.put_metric_alarm(
        **alarm(
            name,
            AlarmDescription="5xx from the API",
            Dimensions=[{"Name": "Service", "Value": "api"}, {"Name": "Stage", "Value": "prod"}],
            Unit="Count",
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
            Threshold=2.5,
            AlarmActions=[TOPIC],
            OKActions=[TOPIC],
            Tags=[{"Key": "team", "Value": "core"}],
        )
    )
    after = time.time()
    found = one(cloudwatch, name)
    arn = f"arn:aws:cloudwatch:{REGION}:{creds.account_id}:alarm:{name}"
    assert {k: v for k, v in found.items() if not k.endswith("Timestamp")} == {
        "AlarmName": name,
        "AlarmArn": arn,
        "AlarmDescription": "5xx from the API",
        "ActionsEnabled": True,
        "OKActions": [TOPIC],
        "AlarmActions": [TOPIC],
        "InsufficientDataActions": [],
        "StateValue": "INSUFFICIENT_DATA",
        "StateReason": "Unchecked: Initial alarm creation",
        "MetricName": "Errors",
        "Namespace": "App/Alarms",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "Service", "Value": "api"}, {"Name": "Stage", "Value": "prod"}],
        "Period": 60,
        "Unit": "Count",
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 2.5,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "ignore",
    }
    stamps = [
        aware(found[k])
        for k in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp")
    ]
    # One moment, within the call, to the millisecond whatever the protocol carries.
    assert len({s.replace(microsecond=s.microsecond // 1000 * 1000) for s in stamps}) == 1
    assert before - 0.001 <= stamps[0].timestamp() <= after + 0.001
    tags = cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert tags == [{"Key": "team", "Value": "core"}]


def test_put_again_replaces_the_configuration_and_keeps_state_and_tags(cloudwatch: Any) -> None:
    name = unique("replace")
    cloudwatch.put_metric_alarm(**alarm(name, Tags=[{"Key": "k", "Value": "1"}]))
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="by hand")
    first = one(cloudwatch, name)
    cloudwatch.put_metric_alarm(
        **alarm(
            name,
            Threshold=9.0,
            Statistic=None,
            ExtendedStatistic="p90",
            Tags=[{"Key": "k", "Value": "2"}],  # ignored on an update, as CloudWatch does
        )
    )
    second = one(cloudwatch, name)
    assert (second["Threshold"], second["ExtendedStatistic"], "Statistic" in second) == (9.0, "p90", False)
    assert (second["StateValue"], second["StateReason"]) == ("ALARM", "by hand")
    assert second["StateUpdatedTimestamp"] == first["StateUpdatedTimestamp"]
    assert second["AlarmConfigurationUpdatedTimestamp"] > first["AlarmConfigurationUpdatedTimestamp"]
    arn = second["AlarmArn"]
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "k", "Value": "1"}]
    updated = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="ConfigurationUpdate")
    assert [i["HistorySummary"] for i in updated["AlarmHistoryItems"]] == [
        f'Alarm "{name}" updated',
        f'Alarm "{name}" created',
    ]
    data = json.loads(updated["AlarmHistoryItems"][0]["HistoryData"])
    assert (data["type"], data["originalAlarm"]["threshold"], data["updatedAlarm"]["threshold"]) == (
        "Update",
        1.0,
        9.0,
    )


def test_an_alarm_on_a_metrics_query_round_trips(cloudwatch: Any) -> None:
    name, space = unique("query"), unique("Space")
    metrics = [
        {
            "Id": "errors",
            "MetricStat": {
                "Metric": {
                    "Namespace": space,
                    "MetricName": "Faults",
                    "Dimensions": [{"Name": "Host", "Value": "h1"}],
                },
                "Period": 10,
                "Stat": "Maximum",
                "Unit": "Count",
            },
            "Label": "faults",
            "ReturnData": True,
        }
    ]
    call = alarm(name, Namespace=None, MetricName=None, Statistic=None, Period=None, Metrics=metrics)
    cloudwatch.put_metric_alarm(**call)
    found = one(cloudwatch, name)
    assert found["Metrics"] == metrics
    assert "MetricName" not in found
    assert "Period" not in found
    by_metric = cloudwatch.describe_alarms_for_metric(
        Namespace=space, MetricName="Faults", Dimensions=[{"Name": "Host", "Value": "h1"}]
    )
    assert names(by_metric) == [name]


def test_describe_alarms_filters_and_pages_by_name(cloudwatch: Any) -> None:
    prefix = unique("page")
    made = [f"{prefix}{c}" for c in ("a", "B", "c", "d", "e")]  # byte order: B before a
    for i, name in enumerate(made):
        actions = [f"arn:aws:sns:us-east-1:123456789012:{prefix.rstrip('-')}-{i % 2}"]
        cloudwatch.put_metric_alarm(**alarm(name, AlarmActions=actions))
    cloudwatch.set_alarm_state(AlarmName=made[2], StateValue="OK", StateReason="quiet")
    expected = sorted(made, key=str.encode)
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)) == expected
    assert names(cloudwatch.describe_alarms(AlarmNames=[made[4], made[0], f"{prefix}none"])) == [
        made[0],
        made[4],
    ]
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix=prefix, StateValue="OK")) == [made[2]]
    odd = cloudwatch.describe_alarms(ActionPrefix=f"arn:aws:sns:us-east-1:123456789012:{prefix}1")
    assert names(odd) == [made[1], made[3]]
    composite = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])
    assert (composite["MetricAlarms"], composite["CompositeAlarms"]) == ([], [])
    pages, token = [], None
    while True:
        page = cloudwatch.describe_alarms(
            AlarmNamePrefix=prefix, MaxRecords=2, **({"NextToken": token} if token else {})
        )
        pages.append(names(page))
        token = page.get("NextToken")
        if token is None:
            break
    assert pages == [expected[:2], expected[2:4], expected[4:]]
    first = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, MaxRecords=2)
    code, status, _ = refusal(
        cloudwatch.describe_alarms, AlarmNamePrefix=made[0], MaxRecords=2, NextToken=first["NextToken"]
    )
    assert (code, status) == ("InvalidNextToken", 400)


def test_describe_alarms_for_metric_matches_statistic_period_unit_and_dimensions(cloudwatch: Any) -> None:
    space = unique("Space")
    dims = [{"Name": "Queue", "Value": "q1"}]
    sum60 = unique("sum60")
    p99 = unique("p99")
    other = unique("other-dims")
    cloudwatch.put_metric_alarm(**alarm(sum60, Namespace=space, Dimensions=dims, Unit="Count"))
    cloudwatch.put_metric_alarm(
        **alarm(p99, Namespace=space, Dimensions=dims, Statistic=None, ExtendedStatistic="p99", Period=300)
    )
    cloudwatch.put_metric_alarm(
        **alarm(other, Namespace=space, Dimensions=[{"Name": "Queue", "Value": "q2"}])
    )

    def matching(**filters: Any) -> list[str]:
        found = cloudwatch.describe_alarms_for_metric(Namespace=space, MetricName="Errors", **filters)
        return sorted(names(found))

    assert matching(Dimensions=dims) == sorted([sum60, p99])
    assert matching(Dimensions=dims, Statistic="Sum") == [sum60]
    assert matching(Dimensions=dims, ExtendedStatistic="p99") == [p99]
    assert matching(Dimensions=dims, Period=300) == [p99]
    assert matching(Dimensions=dims, Unit="Count") == [sum60]
    assert matching(Dimensions=[{"Name": "Queue", "Value": "q2"}]) == [other]
    # The metric is named with its dimensions ("you must specify them"): none is the metric without.
    assert matching() == []
    assert matching(Dimensions=[]) == []
    bare = unique("bare")
    cloudwatch.put_metric_alarm(**alarm(bare, Namespace=space))
    assert matching() == [bare]
    assert cloudwatch.describe_alarms_for_metric(Namespace=space, MetricName="Other")["MetricAlarms"] == []


def test_set_alarm_state_records_reason_and_data(cloudwatch: Any) -> None:
    name = unique("set")
    cloudwatch.put_metric_alarm(**alarm(name))
    created = one(cloudwatch, name)
    reason_data = json.dumps({"source": "runbook", "step": 3})
    cloudwatch.set_alarm_state(
        AlarmName=name, StateValue="ALARM", StateReason="testing the pager", StateReasonData=reason_data
    )
    found = one(cloudwatch, name)
    assert (found["StateValue"], found["StateReason"]) == ("ALARM", "testing the pager")
    assert json.loads(found["StateReasonData"]) == {"source": "runbook", "step": 3}
    moved = aware(found["StateUpdatedTimestamp"])
    assert moved == aware(found["StateTransitionedTimestamp"])
    assert moved >= aware(created["StateUpdatedTimestamp"])
    # The same state again: updated, not transitioned.
    # What XML must escape comes back as it was, in every protocol.
    reason = "p99 > 1s & errors < 5 ]]> \"quoted\" 'single' \u00e9\u2603"
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=reason)
    again = one(cloudwatch, name)
    assert again["StateReason"] == reason
    assert "StateReasonData" not in again
    assert again["StateTransitionedTimestamp"] == found["StateTransitionedTimestamp"]
    assert again["StateUpdatedTimestamp"] >= found["StateUpdatedTimestamp"]


def test_enable_and_disable_alarm_actions(cloudwatch: Any) -> None:
    prefix = unique("actions")
    both = [f"{prefix}1", f"{prefix}2"]
    for name in both:
        cloudwatch.put_metric_alarm(**alarm(name))
    cloudwatch.disable_alarm_actions(AlarmNames=[*both, f"{prefix}missing"])  # a missing one is ignored
    enabled = {
        a["AlarmName"]: a["ActionsEnabled"]
        for a in cloudwatch.describe_alarms(AlarmNames=both)["MetricAlarms"]
    }
    assert enabled == dict.fromkeys(both, False)
    cloudwatch.enable_alarm_actions(AlarmNames=both[:1])
    enabled = {
        a["AlarmName"]: a["ActionsEnabled"]
        for a in cloudwatch.describe_alarms(AlarmNames=both)["MetricAlarms"]
    }
    assert enabled == {both[0]: True, both[1]: False}


def test_delete_alarms_deletes_all_or_none(cloudwatch: Any) -> None:
    prefix = unique("delete")
    made = [f"{prefix}1", f"{prefix}2"]
    for name in made:
        cloudwatch.put_metric_alarm(**alarm(name))
    code, status, message = refusal(cloudwatch.delete_alarms, AlarmNames=[made[0], f"{prefix}missing"])
    assert (code, status) == ("ResourceNotFound", 404)
    assert f"{prefix}missing" in message
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)) == made
    cloudwatch.delete_alarms(AlarmNames=made)
    assert names(cloudwatch.describe_alarms(AlarmNamePrefix=prefix)) == []
    # Its history outlives it, as CloudWatch keeps a deleted alarm's.
    deleted = cloudwatch.describe_alarm_history(AlarmName=made[0], HistoryItemType="ConfigurationUpdate")
    assert deleted["AlarmHistoryItems"][0]["HistorySummary"] == f'Alarm "{made[0]}" deleted'
    # The name is free again.
    cloudwatch.put_metric_alarm(**alarm(made[0]))
    assert one(cloudwatch, made[0])["StateReason"] == "Unchecked: Initial alarm creation"


def test_tags_of_an_alarm_arn(cloudwatch: Any) -> None:
    name = unique("tags") + "with:colon"
    cloudwatch.put_metric_alarm(**alarm(name, Tags=[{"Key": "a", "Value": "1"}]))
    arn = one(cloudwatch, name)["AlarmArn"]
    cloudwatch.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "3"), ("b", "2")]
    cloudwatch.untag_resource(ResourceARN=arn, TagKeys=["a", "absent"])
    assert cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert "Tags" not in one(cloudwatch, name)
    gone = arn + "-gone"
    for call, params in (
        (cloudwatch.list_tags_for_resource, {}),
        (cloudwatch.tag_resource, {"Tags": [{"Key": "x", "Value": "y"}]}),
        (cloudwatch.untag_resource, {"TagKeys": ["x"]}),
    ):
        assert refusal(call, ResourceARN=gone, **params)[:2] == ("ResourceNotFoundException", 404)
    code, status, _ = refusal(cloudwatch.list_tags_for_resource, ResourceARN=TOPIC)
    assert (code, status) == ("InvalidParameterValue", 400)
    west = arn.replace(f":{REGION}:", ":eu-west-1:")
    assert refusal(cloudwatch.list_tags_for_resource, ResourceARN=west)[:2] == (
        "ResourceNotFoundException",
        404,
    )
    code, _, _ = refusal(
        cloudwatch.tag_resource, ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)]
    )
    assert code == "InvalidParameterValue"


def test_another_account_sees_none_of_the_alarms(
    cloudwatch: Any, cloudwatch_for: Any, server: Server, creds: Credentials
) -> None:
    name = unique("mine")
    cloudwatch.put_metric_alarm(**alarm(name))
    arn = one(cloudwatch, name)["AlarmArn"]
    protocol = cloudwatch.meta.service_model.resolved_protocol
    stranger = cloudwatch_for(protocol, server.new_account("stranger"))
    assert stranger.describe_alarms()["MetricAlarms"] == []
    assert stranger.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    assert (
        stranger.describe_alarms_for_metric(Namespace="App/Alarms", MetricName="Errors")["MetricAlarms"] == []
    )
    assert stranger.describe_alarm_history(AlarmName=name)["AlarmHistoryItems"] == []
    assert stranger.describe_alarm_history()["AlarmHistoryItems"] == []
    assert refusal(stranger.set_alarm_state, AlarmName=name, StateValue="OK", StateReason="x")[:2] == (
        "ResourceNotFound",
        404,
    )
    assert refusal(stranger.delete_alarms, AlarmNames=[name])[:2] == ("ResourceNotFound", 404)
    assert refusal(stranger.list_tags_for_resource, ResourceARN=arn)[:2] == ("ResourceNotFoundException", 404)
    stranger.disable_alarm_actions(AlarmNames=[name])
    # Its own alarm of the same name is another alarm.
    stranger.put_metric_alarm(**alarm(name, Threshold=7.0))
    assert one(cloudwatch, name)["Threshold"] == 1.0
    assert one(cloudwatch, name)["ActionsEnabled"] is True
    assert one(stranger, name)["AlarmArn"] != arn
    # Another region of the same account is another set of alarms.
    west = cloudwatch_for(protocol, creds, region="eu-west-1")
    assert west.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_each_alarm_call_is_audited(cloudwatch: Any, server: Server, creds: Credentials) -> None:
    name = unique("audit")
    put = cloudwatch.put_metric_alarm(**alarm(name))
    arn = one(cloudwatch, name)["AlarmArn"]
    calls = [
        ("PutMetricAlarm", put, False),
        ("DescribeAlarms", cloudwatch.describe_alarms(AlarmNames=[name]), True),
        (
            "SetAlarmState",
            cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="x"),
            False,
        ),
        ("DescribeAlarmHistory", cloudwatch.describe_alarm_history(AlarmName=name), True),
        ("TagResource", cloudwatch.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "b"}]), False),
        ("ListTagsForResource", cloudwatch.list_tags_for_resource(ResourceARN=arn), True),
        ("UntagResource", cloudwatch.untag_resource(ResourceARN=arn, TagKeys=["a"]), False),
        (
            "DescribeAlarmsForMetric",
            cloudwatch.describe_alarms_for_metric(Namespace="App/Alarms", MetricName="Errors"),
            True,
        ),
        ("DisableAlarmActions", cloudwatch.disable_alarm_actions(AlarmNames=[name]), False),
        ("EnableAlarmActions", cloudwatch.enable_alarm_actions(AlarmNames=[name]), False),
        ("DeleteAlarms", cloudwatch.delete_alarms(AlarmNames=[name]), False),
    ]
    for event_name, answer, read_only in calls:
        record = recorded(server, creds, event_name, request_id(answer))
        assert record is not None, event_name
        assert (record["eventSource"], record["eventName"], record["readOnly"]) == (
            "monitoring.amazonaws.com",
            event_name,
            read_only,
        )
        assert record["awsRegion"] == REGION
        assert record["recipientAccountId"] == creds.account_id
        assert "errorCode" not in record
    assert (
        recorded(server, creds, "PutMetricAlarm", request_id(put))["requestParameters"]["alarmName"] == name
    )


def test_a_refused_call_is_audited_with_its_error(
    cloudwatch: Any, server: Server, creds: Credentials
) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        cloudwatch.set_alarm_state(AlarmName=unique("absent"), StateValue="OK", StateReason="x")
    record = recorded(server, creds, "SetAlarmState", request_id(caught.value.response))
    assert record is not None
    assert record["eventSource"] == "monitoring.amazonaws.com"
    assert record["errorCode"] == "ResourceNotFound"
