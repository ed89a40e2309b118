"""The whole path to a person: an acknowledged event streamed to a log group, counted by a metric filter,
a 10-second alarm on the filter's metric going to ALARM when its period closes, and the webhook topic
notified with CloudWatch's alarm message, once per transition."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.delivery import record
from tests.support.server import Server
from tests.support.streams import Monitored, alarm_notifications, wait_states
from tests.support.stub import Stub

PERIOD = 10


@pytest.fixture
def tenant(server: Server) -> Monitored:
    return Monitored(server)


def test_an_alarm_on_a_filters_metric_notifies_each_transition_once(tenant: Monitored, webhook: Stub) -> None:
    topic = tenant.topic("alarms", webhook.url)
    tenant.streaming_trail("alarmed")
    tenant.metric_filter("Runs", '{ $.eventName = "RunInstances" }')
    tenant.cloudwatch.put_metric_alarm(
        AlarmName="runs",
        Namespace=tenant.namespace,
        MetricName="Runs",
        Statistic="Sum",
        Period=PERIOD,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    # INSUFFICIENT_DATA -> OK once a period closed with nothing in it (missing data is not breaching).
    wait_states(webhook, "runs", ["OK"], timeout=3 * PERIOD)
    tenant.ingest([record(tenant.account, read_only=True)])  # does not match
    event = record(tenant.account)
    tenant.ingest([event])
    acknowledged = time.time()
    alarm = wait_states(webhook, "runs", ["OK", "ALARM"], timeout=3 * PERIOD)[1]
    closed = (int(acknowledged) // PERIOD + 1) * PERIOD
    assert time.time() - closed < PERIOD  # the period holding the event, not a later one
    assert alarm["OldStateValue"] == "OK"
    assert alarm["AWSAccountId"] == tenant.account
    assert alarm["Trigger"]["MetricName"] == "Runs"
    assert alarm["Trigger"]["Namespace"] == tenant.namespace
    assert alarm["Trigger"]["Period"] == PERIOD
    assert alarm["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    # Evaluated again in the following passes (the period's settling seconds): announced once. (It goes
    # back to OK only when the datapoint leaves the evaluation range, N + 2 periods: not waited for.)
    time.sleep(2.5)
    assert [m["NewStateValue"] for m in alarm_notifications(webhook, "runs")] == ["OK", "ALARM"]
    posts = [json.loads(sent.body) for sent in webhook.requests]
    assert {p["TopicArn"] for p in posts} == {topic}
    assert posts[1]["Subject"] == 'ALARM: "runs" in US East (N. Virginia)'
    history = tenant.cloudwatch.describe_alarm_history(AlarmName="runs", HistoryItemType="StateUpdate")
    changes = [json.loads(item["HistoryData"]) for item in history["AlarmHistoryItems"]]
    assert [(c["oldState"]["stateValue"], c["newState"]["stateValue"]) for c in reversed(changes)] == [
        ("INSUFFICIENT_DATA", "OK"),
        ("OK", "ALARM"),
    ]
