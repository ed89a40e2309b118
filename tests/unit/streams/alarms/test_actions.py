"""Alarm actions (``streams/alarms/actions.py``): CloudWatch's notification JSON and Subject, one outbox
notice per topic of the new state, and the Action history item each notice's last attempt leaves."""

from __future__ import annotations

import json
from typing import Any

from opentrail.delivery.notifications import Notice, Outcome
from opentrail.store import Store
from opentrail.store.alarms import HistoryQuery
from opentrail.streams.alarms.actions import (
    notices,
    notification,
    record_outcome,
    region_name,
    route_outcomes,
    subject,
)
from tests.support.calls import Env
from tests.unit.streams.alarms.conftest import T

ACCOUNT = "123456789012"
ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:root-login"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:security"


def body(**changes: Any) -> dict[str, Any]:
    alarm: dict[str, Any] = {
        "AlarmName": "root-login",
        "AlarmArn": ARN,
        "AlarmDescription": "CIS 1.7",
        "ActionsEnabled": True,
        "OKActions": [],
        "AlarmActions": [TOPIC, TOPIC],
        "InsufficientDataActions": [],
        "MetricName": "RootAccountUsage",
        "Namespace": "CISBenchmark",
        "Statistic": "Sum",
        "Dimensions": [{"Name": "Trail", "Value": "main"}],
        "Period": 10,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmConfigurationUpdatedTimestamp": T - 3600,
        "StateValue": "ALARM",
        "StateReason": "Threshold Crossed: ...",
        "StateUpdatedTimestamp": T + 0.123,
        "StateTransitionedTimestamp": T + 0.123,
    }
    alarm.update(changes)
    return alarm


def test_the_notification_is_cloudwatchs() -> None:
    assert notification(body(), ACCOUNT, "us-east-1", "OK") == {
        "AlarmName": "root-login",
        "AlarmDescription": "CIS 1.7",
        "AWSAccountId": ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-07-12T09:00:00.000+0000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: ...",
        "StateChangeTime": "2026-07-12T10:00:00.123+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": ARN,
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": [TOPIC, TOPIC],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "RootAccountUsage",
            "Namespace": "CISBenchmark",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [{"value": "main", "name": "Trail"}],
            "Period": 10,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "- TreatMissingData:                    notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def test_a_percentile_alarm_names_its_extended_statistic() -> None:
    alarm = body(Statistic=None, ExtendedStatistic="p99", Unit="Milliseconds", AlarmDescription=None)
    message = notification({k: v for k, v in alarm.items() if v is not None}, ACCOUNT, "eu-west-1", "OK")
    assert message["AlarmDescription"] is None
    assert message["Region"] == "Europe (Ireland)"
    assert {k: message["Trigger"][k] for k in ("StatisticType", "ExtendedStatistic", "Unit")} == {
        "StatisticType": "ExtendedStatistic",
        "ExtendedStatistic": "p99",
        "Unit": "Milliseconds",
    }


def test_subject_and_region_names() -> None:
    assert subject("ALARM", "root-login", "us-east-1") == 'ALARM: "root-login" in US East (N. Virginia)'
    assert subject("OK", "x" * 200, "us-east-1") == 'OK: "' + "x" * 95  # SNS's 100-character bound
    assert region_name("ap-southeast-2") == "Asia Pacific (Sydney)"
    assert region_name("moon-1") == "moon-1"


def test_one_notice_per_topic_and_none_when_actions_are_disabled() -> None:
    ids = iter(["m1", "m2"])
    (doc,) = notices(body(), ACCOUNT, "us-east-1", "OK", lambda: next(ids))
    assert (doc.kind, doc.account) == ("notice", ACCOUNT)
    assert doc.body["subject"] == 'ALARM: "root-login" in US East (N. Virginia)'
    assert json.loads(doc.body["message"]) == notification(body(), ACCOUNT, "us-east-1", "OK")
    assert (doc.body["topic_arn"], doc.body["message_id"], doc.body["due"]) == (TOPIC, "m1", T + 0.123)
    # The same transition queued again has the same id; the next transition another.
    (again,) = notices(body(), ACCOUNT, "us-east-1", "OK", lambda: "m9")
    assert again.arn == doc.arn
    (later,) = notices(body(StateUpdatedTimestamp=T + 60), ACCOUNT, "us-east-1", "OK", lambda: "m9")
    assert later.arn != doc.arn
    assert notices(body(ActionsEnabled=False), ACCOUNT, "us-east-1", "OK", lambda: "m") == []


def action_items(store: Store) -> list[tuple[str, dict[str, Any]]]:
    rows = store.alarms.history(HistoryQuery(ACCOUNT, "us-east-1", item_type="Action", ascending=True))
    assert all((r.name, r.alarm_type) == ("root-login", "MetricAlarm") for r in rows)
    return [(r.summary, json.loads(r.data)) for r in rows]


def test_each_final_outcome_is_an_action_item(env: Env) -> None:
    notice = Notice(ACCOUNT, ARN, TOPIC, "", (), subject="s", message='{"a":1}', occasion=f"{T!r}/ALARM")
    record_outcome(env.store, notice, Outcome(at=T + 1, error="EndpointError: 503 (retrying)", final=False))
    record_outcome(env.store, notice, Outcome(at=T + 2))
    record_outcome(env.store, notice, Outcome(at=T + 3, error="NotFound: Topic does not exist"))
    assert action_items(env.store) == [
        (
            f"Successfully executed action {TOPIC}",
            {
                "actionState": "Succeeded",
                "stateUpdateTimestamp": round(T * 1000),
                "notificationResource": TOPIC,
                "publishedMessage": '{"default":"{\\"a\\":1}"}',
            },
        ),
        (
            f"Failed to execute action {TOPIC}",
            {
                "actionState": "Failed",
                "stateUpdateTimestamp": round(T * 1000),
                "notificationResource": TOPIC,
                "error": "NotFound: Topic does not exist",
            },
        ),
    ]


def test_outcomes_are_routed_by_what_the_notice_announces(env: Env) -> None:
    trails: list[Notice] = []
    record = route_outcomes(env.store, lambda notice, outcome: trails.append(notice))
    trail = Notice(ACCOUNT, f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t", TOPIC, "b", ("k",))
    record(trail, Outcome(at=T))
    record(Notice(ACCOUNT, ARN, TOPIC, "", (), message="{}"), Outcome(at=T))
    assert trails == [trail]
    assert [summary for summary, _ in action_items(env.store)] == [f"Successfully executed action {TOPIC}"]
