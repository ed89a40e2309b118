"""Alarms evaluated by the running server from data put with PutMetricData: a 10-second alarm goes
INSUFFICIENT_DATA -> ALARM after a breaching datapoint and -> OK after a good one, with CloudWatch's
StateReason texts in DescribeAlarms and DescribeAlarmHistory, and a webhook topic on loopback gets
CloudWatch's alarm notification once per transition (each leaving an Action item); a SetAlarmState holds
until the alarm's next evaluation. Every wait is bounded polling."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from opentrail.streams.alarms.reasons import reason_time
from tests.support.alarms import REGION, alarm, unique
from tests.support.server import Server, wait_for
from tests.support.stub import Stub, serve_stub

PERIOD = 10


def received(webhook: Stub) -> list[tuple[dict[str, str], dict[str, Any]]]:
    """What the webhook endpoint was POSTed: (headers, JSON body), oldest first."""
    return [(sent.headers, json.loads(sent.body)) for sent in list(webhook.requests)]


@pytest.fixture
def webhook() -> Iterator[Stub]:
    """A webhook topic's endpoint on loopback, keeping every notification POSTed to it."""
    yield from serve_stub()


def described(cloudwatch: Any, name: str) -> dict[str, Any]:
    [found] = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(found)


def reaches(cloudwatch: Any, name: str, state: str, timeout: float = 3 * PERIOD) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = described(cloudwatch, name)
        return found if found["StateValue"] == state else None

    return wait_for(probe, f"{name} in {state}", timeout)


def room_in_the_period(seconds: float) -> None:
    """Waits, if need be, until the next period began, so that the current one has ``seconds`` left."""
    left = PERIOD - time.time() % PERIOD
    if left < seconds:
        time.sleep(left + 0.3)


def evaluated_start(found: dict[str, Any]) -> float:
    """The start of the period the alarm's last evaluation judged (its StateReasonData)."""
    [point] = json.loads(found["StateReasonData"])["evaluatedDatapoints"]
    return datetime.strptime(point["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_an_alarm_is_evaluated_and_notifies_each_transition_once(
    server: Server, cloudwatch_for: Callable[..., Any], webhook: Stub
) -> None:
    tenant = server.new_account("evaluated")
    cloudwatch = cloudwatch_for("json", tenant)
    topic = server.cli(
        "topic", "create", "alarms", "--url", webhook.url, "--account", tenant.account_id, "--region", REGION
    ).stdout.strip()
    space, watched, held = unique("Eval"), unique("latency"), unique("held")
    rule = {
        "Namespace": space,
        "Statistic": "Maximum",
        "Period": PERIOD,
        "Threshold": 100.0,
        "TreatMissingData": None,  # missing data is missing: INSUFFICIENT_DATA when there is none
    }
    cloudwatch.put_metric_alarm(
        **alarm(watched, **rule, MetricName="Latency", AlarmActions=[topic], OKActions=[topic])
    )
    cloudwatch.put_metric_alarm(**alarm(held, **rule, MetricName="Quiet", InsufficientDataActions=[topic]))
    room_in_the_period(4)
    cloudwatch.set_alarm_state(AlarmName=held, StateValue="ALARM", StateReason="held by hand")
    before = time.time()
    cloudwatch.put_metric_data(Namespace=space, MetricData=[{"MetricName": "Latency", "Value": 250.0}])
    after = time.time()
    time.sleep(1.5)  # the evaluator's passes within the period keep both as they are
    assert described(cloudwatch, held)["StateValue"] == "ALARM"
    assert described(cloudwatch, watched)["StateValue"] == "INSUFFICIENT_DATA"

    alarmed = reaches(cloudwatch, watched, "ALARM")
    breach = evaluated_start(alarmed)
    assert breach % PERIOD == 0
    assert before - PERIOD < breach <= after
    assert alarmed["StateReason"] == (
        f"Threshold Crossed: 1 out of the last 1 datapoints [250.0 ({reason_time(breach)})] was greater "
        "than the threshold (100.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    # The hold ended with the period: no data, so INSUFFICIENT_DATA again.
    released = reaches(cloudwatch, held, "INSUFFICIENT_DATA", PERIOD)
    assert released["StateReason"] == "Insufficient Data: 1 datapoint was unknown."

    cloudwatch.put_metric_data(Namespace=space, MetricData=[{"MetricName": "Latency", "Value": 20.0}])
    recovered = reaches(cloudwatch, watched, "OK")
    good = evaluated_start(recovered)
    assert good % PERIOD == 0
    assert good > breach
    assert recovered["StateReason"] == (
        f"Threshold Crossed: 1 out of the last 1 datapoints [20.0 ({reason_time(good)})] was not greater "
        "than the threshold (100.0) (minimum 1 datapoint for ALARM -> OK transition)."
    )
    data = json.loads(recovered["StateReasonData"])
    assert (data["version"], data["statistic"], data["period"], data["threshold"]) == (
        "1.0",
        "Maximum",
        10,
        100.0,
    )
    assert data["recentDatapoints"] == [250.0, 20.0]

    check_history(cloudwatch, watched, held, [alarmed, recovered], released)
    check_notifications(webhook, tenant.account_id, topic, [alarmed, recovered])
    actions = wait_for(lambda: action_items(cloudwatch, watched, 2), "an Action item per notification", 10)
    assert actions == [f"Successfully executed action {topic}"] * 2


def action_items(cloudwatch: Any, name: str, count: int) -> list[str] | None:
    found = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="Action")["AlarmHistoryItems"]
    return [i["HistorySummary"] for i in found] if len(found) >= count else None


def check_history(
    cloudwatch: Any, watched: str, held: str, states: list[dict[str, Any]], released: dict[str, Any]
) -> None:
    items = cloudwatch.describe_alarm_history(
        AlarmName=watched, HistoryItemType="StateUpdate", ScanBy="TimestampAscending"
    )["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    for item, state in zip(items, states, strict=True):
        data = json.loads(item["HistoryData"])
        assert data["newState"]["stateReason"] == state["StateReason"]
        assert data["newState"]["stateReasonData"] == json.loads(state["StateReasonData"])
        assert item["Timestamp"] == state["StateUpdatedTimestamp"]
    assert json.loads(items[1]["HistoryData"])["oldState"]["stateReason"] == states[0]["StateReason"]
    held_items = cloudwatch.describe_alarm_history(
        AlarmName=held, HistoryItemType="StateUpdate", ScanBy="TimestampAscending"
    )["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in held_items] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        "Alarm updated from ALARM to INSUFFICIENT_DATA",
    ]
    assert json.loads(held_items[1]["HistoryData"])["newState"]["stateReason"] == released["StateReason"]


def check_notifications(webhook: Stub, account: str, topic: str, states: list[dict[str, Any]]) -> None:
    """One notification per transition of the watched alarm (the held one's INSUFFICIENT_DATA, from a
    state SetAlarmState gave it, is announced too: its InsufficientDataActions name the topic)."""
    wait_for(lambda: len(received(webhook)) >= 3, "three notifications", 10)
    time.sleep(1.5)  # a repeat would come at once: the notifier is woken by each transition
    posts = received(webhook)
    assert len(posts) == 3, [p[1].get("Subject") for p in posts]
    messages = {}
    for headers, body in posts:
        assert headers["x-amz-sns-message-type"] == "Notification"
        assert (body["Type"], body["TopicArn"]) == ("Notification", topic)
        message = json.loads(body["Message"])
        assert (
            body["Subject"]
            == f'{message["NewStateValue"]}: "{message["AlarmName"]}" in US East (N. Virginia)'
        )
        messages[(message["AlarmName"], message["NewStateValue"])] = message
    alarmed, recovered = states
    name = alarmed["AlarmName"]
    for state, old in ((alarmed, "INSUFFICIENT_DATA"), (recovered, "ALARM")):
        message = messages[(name, state["StateValue"])]
        assert message["OldStateValue"] == old
        assert message["NewStateReason"] == state["StateReason"]
        assert (message["AWSAccountId"], message["Region"], message["AlarmArn"]) == (
            account,
            "US East (N. Virginia)",
            state["AlarmArn"],
        )
        changed = datetime.strptime(message["StateChangeTime"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert changed == state["StateUpdatedTimestamp"]
        trigger = message["Trigger"]
        assert (trigger["MetricName"], trigger["Statistic"], trigger["Period"], trigger["Threshold"]) == (
            "Latency",
            "MAXIMUM",
            10,
            100.0,
        )
        assert (message["AlarmActions"], message["OKActions"]) == ([topic], [topic])
    assert [state for alarm_name, state in messages if alarm_name != name] == ["INSUFFICIENT_DATA"]


def test_an_alarm_cannot_notify_another_accounts_webhook_topic(
    server: Server, cloudwatch_for: Callable[..., Any], webhook: Stub
) -> None:
    owner, intruder = server.new_account("topic-owner"), server.new_account("intruder")
    topic = server.cli(
        "topic", "create", "private", "--url", webhook.url, "--account", owner.account_id, "--region", REGION
    ).stdout.strip()
    cloudwatch = cloudwatch_for("json", intruder)
    name = unique("borrowed")
    cloudwatch.put_metric_alarm(**alarm(name, AlarmActions=[topic]))  # as CloudWatch, not checked here
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="try the other topic")
    [failed] = wait_for(lambda: action_items(cloudwatch, name, 1), "the failed Action item", 10)
    assert failed == f"Failed to execute action {topic}"
    assert received(webhook) == []


def test_set_alarm_state_notifies_at_once(
    server: Server, cloudwatch_for: Callable[..., Any], webhook: Stub
) -> None:
    """A transition SetAlarmState makes is announced as promptly as an evaluated one (not at the
    notifier's next look at the whole outbox, half a minute away)."""
    tenant = server.new_account("set-state")
    topic = server.cli(
        "topic", "create", "pager", "--url", webhook.url, "--account", tenant.account_id, "--region", REGION
    ).stdout.strip()
    cloudwatch = cloudwatch_for("query", tenant)
    name = unique("drill")
    cloudwatch.put_metric_alarm(**alarm(name, AlarmActions=[topic]))
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="fire drill")
    [(_, body)] = wait_for(lambda: received(webhook), "the notification", 3)
    message = json.loads(body["Message"])
    assert (message["AlarmName"], message["NewStateValue"], message["NewStateReason"]) == (
        name,
        "ALARM",
        "fire drill",
    )
    [done] = wait_for(lambda: action_items(cloudwatch, name, 1), "the Action item", 5)
    assert done == f"Successfully executed action {topic}"
