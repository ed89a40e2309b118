"""Alarm actions: what a state change sends to the topics its alarm names, and the Action history item
each attempt's outcome leaves.

On a state change of an alarm with ActionsEnabled, each topic among the actions of the new state
(OKActions, AlarmActions or InsufficientDataActions) gets CloudWatch's alarm notification: the JSON
message below, with the Subject ``ALARM: "name" in US East (N. Virginia)``. The notices are outbox
documents (``delivery/outbox.py``) written in the same transaction as the transition
(``store.alarms.replace``), keyed by (alarm, topic, transition time), so a transition is announced once
per topic however often its transaction is repeated; the notifier sends them with its retries.

Its outcome comes back through ``record_outcome`` as an Action history item, as CloudWatch keeps one:
``Successfully executed action <arn>`` or ``Failed to execute action <arn>`` (after the last attempt).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import botocore.loaders

from opentrail.delivery.notifications import Notice, Outcome
from opentrail.delivery.outbox import Pending, document
from opentrail.store import Doc, Store
from opentrail.store.alarms import HistoryRow
from opentrail.streams.alarms.model import ALARM_TYPE, metric_key, moment, returned_query, statistic
from opentrail.streams.alarms.reasons import timestamp

__all__ = ["notices", "notification", "record_outcome", "region_name", "route_outcomes", "subject"]

ACTIONS = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
SUBJECT_LIMIT = 100  # SNS refuses a longer Subject
_STANDARD = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


@functools.cache
def _region_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for partition in botocore.loaders.Loader().load_data("endpoints")["partitions"]:
        for code, region in partition.get("regions", {}).items():
            names[code] = region.get("description", code)
    return names


def region_name(region: str) -> str:
    """The region's long name as CloudWatch writes it in notifications ("US East (N. Virginia)")."""
    return _region_names().get(region, region)


def subject(state: str, name: str, region: str) -> str:
    return f'{state}: "{name}" in {region_name(region)}'[:SUBJECT_LIMIT]


def _trigger(body: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    key = metric_key(body, account, region)
    stat = statistic(body)
    trigger: dict[str, Any] = {"MetricName": key.name, "Namespace": key.namespace}
    if stat in _STANDARD:
        trigger.update(StatisticType="Statistic", Statistic=stat.upper())
    else:
        trigger.update(StatisticType="ExtendedStatistic", ExtendedStatistic=stat)
    query = returned_query(body)
    trigger["Unit"] = (query["MetricStat"] if query is not None else body).get("Unit")
    trigger["Dimensions"] = [{"value": value, "name": name} for name, value in key.dimensions]
    trigger["Period"] = query["MetricStat"]["Period"] if query is not None else body["Period"]
    trigger["EvaluationPeriods"] = body["EvaluationPeriods"]
    if "DatapointsToAlarm" in body:
        trigger["DatapointsToAlarm"] = body["DatapointsToAlarm"]
    trigger["ComparisonOperator"] = body["ComparisonOperator"]
    trigger["Threshold"] = float(body["Threshold"])
    # CloudWatch writes this member as the line of its e-mail text it comes from.
    trigger["TreatMissingData"] = (
        "- TreatMissingData:" + " " * 20 + (body.get("TreatMissingData") or "missing")
    )
    trigger["EvaluateLowSampleCountPercentile"] = body.get("EvaluateLowSampleCountPercentile", "")
    return trigger


def notification(body: dict[str, Any], account: str, region: str, old_state: str) -> dict[str, Any]:
    """CloudWatch's alarm notification message for ``body``, just changed from ``old_state``."""
    return {
        "AlarmName": body["AlarmName"],
        "AlarmDescription": body.get("AlarmDescription"),
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": timestamp(body["AlarmConfigurationUpdatedTimestamp"]),
        "NewStateValue": body["StateValue"],
        "NewStateReason": body["StateReason"],
        "StateChangeTime": timestamp(body["StateUpdatedTimestamp"]),
        "Region": region_name(region),
        "AlarmArn": body["AlarmArn"],
        "OldStateValue": old_state,
        "OKActions": list(body.get("OKActions") or []),
        "AlarmActions": list(body.get("AlarmActions") or []),
        "InsufficientDataActions": list(body.get("InsufficientDataActions") or []),
        "Trigger": _trigger(body, account, region),
    }


def notices(
    body: dict[str, Any], account: str, region: str, old_state: str, new_id: Callable[[], str]
) -> list[Doc]:
    """The outbox documents of a state change of ``body`` (already in its new state): one per topic
    among the new state's actions, none when its actions are disabled."""
    if not body.get("ActionsEnabled", True):
        return []
    state, changed = body["StateValue"], float(body["StateUpdatedTimestamp"])
    text = json.dumps(notification(body, account, region, old_state), separators=(",", ":"))
    docs = []
    for topic in dict.fromkeys(body.get(ACTIONS[state]) or []):
        pending = Pending(
            trail_arn=body["AlarmArn"],
            topic_arn=topic,
            message_id=new_id(),
            created=changed,
            due=changed,
            subject=subject(state, body["AlarmName"], region),
            message=text,
            occasion=f"{changed!r}/{state}",
        )
        docs.append(document(account, pending))
    return docs


def _history_data(notice: Notice, outcome: Outcome) -> str:
    changed = float(notice.occasion.split("/", 1)[0]) if notice.occasion else outcome.at
    data: dict[str, Any] = {
        "actionState": "Succeeded" if outcome.succeeded else "Failed",
        "stateUpdateTimestamp": round(changed * 1000),
        "notificationResource": notice.topic_arn,
    }
    if outcome.error is not None:
        data["error"] = outcome.error
    else:
        data["publishedMessage"] = json.dumps({"default": notice.message}, separators=(",", ":"))
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > 4095:  # HistoryData's bound: the message is what gives way
        data.pop("publishedMessage", None)
        text = json.dumps(data, separators=(",", ":"))
    return text


def record_outcome(store: Store, notice: Notice, outcome: Outcome) -> None:
    """The Action history item of an alarm notice's last attempt (earlier attempts that are retried
    leave none)."""
    if not outcome.final:
        return
    _, _, _, region, account, _, name = notice.trail_arn.split(":", 6)
    verb = "Successfully executed" if outcome.succeeded else "Failed to execute"
    summary = f"{verb} action {notice.topic_arn}"[:255]
    row = HistoryRow(
        account,
        region,
        name,
        ALARM_TYPE,
        "Action",
        moment(outcome.at),
        summary,
        _history_data(notice, outcome),
    )
    store.alarms.record([row])


def route_outcomes(
    store: Store, others: Callable[[Notice, Outcome], None]
) -> Callable[[Notice, Outcome], None]:
    """The notifier's ``record``: alarm notices' outcomes to their alarm's history, others (a trail's)
    to ``others``."""

    def record(notice: Notice, outcome: Outcome) -> None:
        if notice.message is not None and notice.trail_arn.startswith("arn:aws:cloudwatch:"):
            record_outcome(store, notice, outcome)
        else:
            others(notice, outcome)

    return record
