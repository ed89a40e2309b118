"""CloudWatch's alarm operations, as plain ``(Call, params) -> result`` functions (``OPERATIONS``); the
monitoring protocol layer (query, JSON 1.0, rpc-v2-cbor) renders them from the ``cloudwatch`` model.

Params and results are keyed by the model's member names; timestamps are epoch seconds. Writes:

- PutMetricAlarm creates an alarm in INSUFFICIENT_DATA (``Unchecked: Initial alarm creation``) or
  replaces an existing one's configuration, keeping its state and its tags (CloudWatch ignores Tags on
  an update); each is a ConfigurationUpdate history item. At most ``MAX_ALARMS`` per account and region.
- DeleteAlarms deletes all the alarms named, or none when one is missing (ResourceNotFound).
- SetAlarmState sets the state until the alarm's next evaluation (the next period boundary), with its
  StateUpdate item and, when the state value changes, its actions.
- EnableAlarmActions / DisableAlarmActions; TagResource, UntagResource, ListTagsForResource on alarm ARNs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from opentrail.context import Call
from opentrail.errors import ApiError, api_error
from opentrail.store import Doc
from opentrail.store.alarms import HistoryRow
from opentrail.streams.alarms import history
from opentrail.streams.alarms.checks import alarm_name, configuration, invalid, tags, validation
from opentrail.streams.alarms.model import alarm_arn, moment, period
from opentrail.streams.alarms.queries import (
    describe_alarm_history,
    describe_alarms,
    describe_alarms_for_metric,
)
from opentrail.streams.alarms.reasons import INITIAL_REASON
from opentrail.streams.alarms.rule import INSUFFICIENT_DATA, STATES

__all__ = ["MAX_ALARMS", "OPERATIONS"]

Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]
Body = dict[str, Any]

# CloudWatch's documented bound ("up to 5000 alarms per region per AWS account").
MAX_ALARMS = 5000
MAX_NAMES = 100
RESOURCE_TYPE = "AWS::CloudWatch::Alarm"
_STATE_MEMBERS = (
    "StateValue",
    "StateReason",
    "StateReasonData",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "Tags",
)


def _not_found(name: str) -> ApiError:
    return api_error("ResourceNotFound")(f"Alarm {name} does not exist.")


def put_metric_alarm(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    config = configuration(p, call.region)
    new_tags = tags(p.get("Tags"))
    name, now = config["AlarmName"], moment(call.now)
    arn = alarm_arn(call.region, call.account, name)

    def change(current: Body | None, count: int) -> tuple[Body, list[HistoryRow], list[Doc]]:
        body = {**config, "AlarmArn": arn, "AlarmConfigurationUpdatedTimestamp": now}
        if current is None:
            if count >= MAX_ALARMS:
                raise api_error("LimitExceededFault")(
                    f"The maximum number of alarms ({MAX_ALARMS}) for this account in {call.region} "
                    "has been reached."
                )
            body.update(
                StateValue=INSUFFICIENT_DATA,
                StateReason=INITIAL_REASON,
                StateUpdatedTimestamp=now,
                StateTransitionedTimestamp=now,
                Tags=new_tags,
            )
            return (
                body,
                [history.configuration_item(call.account, call.region, "Create", now, body, None)],
                [],
            )
        body.update({k: current[k] for k in _STATE_MEMBERS if k in current})
        return body, [history.configuration_item(call.account, call.region, "Update", now, body, current)], []

    call.store.alarms.change(call.account, call.region, name, change)
    call.touch(RESOURCE_TYPE, arn)
    return {}


def _name_list(p: dict[str, Any], required: bool = True) -> list[str]:
    names = p.get("AlarmNames")
    if names is None:
        if required:
            raise api_error("MissingRequiredParameterException")("The parameter AlarmNames is required.")
        return []
    if not isinstance(names, list) or len(names) > MAX_NAMES:
        raise validation(
            "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_NAMES}"
        )
    return list(dict.fromkeys(alarm_name({"AlarmName": n}) for n in names))


def delete_alarms(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    names = _name_list(p)
    tables, now = call.store.alarms, moment(call.now)
    current = {n: tables.get(call.account, call.region, n) for n in names}
    rows = [
        history.configuration_item(call.account, call.region, "Delete", now, None, alarm.body)
        for alarm in current.values()
        if alarm is not None
    ]
    missing = tables.delete(call.account, call.region, names, rows)
    if missing:
        raise api_error("ResourceNotFound")(
            f"{len(missing)} out of {len(names)} alarms were not found: {missing}"
        )
    for name in names:
        call.touch(RESOURCE_TYPE, alarm_arn(call.region, call.account, name))
    return {}


def _reason_data(p: dict[str, Any]) -> str | None:
    data = p.get("StateReasonData")
    if data is None:
        return None
    if not isinstance(data, str) or len(data) > 4000:
        raise validation(
            "1 validation error detected: Value at 'stateReasonData' failed to satisfy constraint: "
            "Member must have length less than or equal to 4000"
        )
    try:
        json.loads(data)
    except (ValueError, RecursionError):  # nested past the parser's depth: not JSON we can read
        raise api_error("InvalidFormatFault")(f"StateReasonData is not valid JSON: {data[:64]!r}") from None
    return data


def set_alarm_state(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    name = alarm_name(p)
    state = p.get("StateValue")
    if state not in STATES:
        raise validation(
            f"1 validation error detected: Value '{state}' at 'stateValue' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(STATES)}]"
        )
    reason = p.get("StateReason")
    if not isinstance(reason, str):
        raise api_error("MissingRequiredParameterException")("The parameter StateReason is required.")
    if len(reason) > 1023:
        raise validation(
            "1 validation error detected: Value at 'stateReason' failed to satisfy constraint: "
            "Member must have length less than or equal to 1023"
        )
    data, now, new_id = _reason_data(p), moment(call.now), call.services.new_id
    queued: list[Doc] = []

    def change(current: Body | None, _: int) -> tuple[Body, list[HistoryRow], list[Doc]]:
        if current is None:
            raise _not_found(name)
        body, rows, docs = history.transition(
            current, call.account, call.region, state, reason, data, now, new_id
        )
        step = period(current)
        body["HoldUntil"] = (math.floor(now / step) + 1) * step  # until the next evaluation
        queued[:] = docs  # those of the attempt that was written (a repeated change replaces them)
        return body, rows, docs

    stored = call.store.alarms.change(call.account, call.region, name, change)
    if stored is not None:
        call.touch(RESOURCE_TYPE, stored.body["AlarmArn"])
    for doc in queued:  # the notices were kept with the transition: the notifier sends them now
        for tell in call.services.notices_queued:
            tell(doc.account, doc.arn, now)
    return {}


def _set_actions(enabled: bool) -> Operation:
    def operation(call: Call, p: dict[str, Any]) -> dict[str, Any]:
        for name in _name_list(p):

            def change(current: Body | None, _: int) -> tuple[Body | None, list[HistoryRow], list[Doc]]:
                return (None if current is None else {**current, "ActionsEnabled": enabled}), [], []

            if call.store.alarms.get(call.account, call.region, name) is not None:  # others: ignored
                call.store.alarms.change(call.account, call.region, name, change)
                call.touch(RESOURCE_TYPE, alarm_arn(call.region, call.account, name))
        return {}

    return operation


def _alarm_of(call: Call, p: dict[str, Any]) -> str:
    """The name of the caller's alarm that ResourceARN names (in the call's region)."""
    arn = p.get("ResourceARN")
    if not isinstance(arn, str) or not arn:
        raise api_error("MissingRequiredParameterException")("The parameter ResourceARN is required.")
    parts = arn.split(":", 6)
    if len(parts) != 7 or parts[:3] != ["arn", "aws", "cloudwatch"] or parts[5] != "alarm":
        raise invalid(f"Invalid value for ResourceARN: {arn} is not the ARN of a CloudWatch alarm.")
    try:
        alarm_name({"AlarmName": parts[6]})  # a name no alarm can have is in no alarm's ARN
    except ApiError:
        raise invalid(f"Invalid value for ResourceARN: {arn} is not the ARN of a CloudWatch alarm.") from None
    if parts[3] != call.region or parts[4] != call.account:
        raise api_error("ResourceNotFoundException")(f"Alarm {arn} does not exist.")
    if call.store.alarms.get(call.account, call.region, parts[6]) is None:
        raise api_error("ResourceNotFoundException")(f"Alarm {arn} does not exist.")
    call.touch(RESOURCE_TYPE, arn)
    return parts[6]


def _retag(call: Call, name: str, edit: Callable[[dict[str, str]], dict[str, str]]) -> None:
    def change(current: Body | None, _: int) -> tuple[Body | None, list[HistoryRow], list[Doc]]:
        if current is None:
            raise api_error("ResourceNotFoundException")(f"Alarm {name} does not exist.")
        edited = edit({t["Key"]: t["Value"] for t in current.get("Tags", [])})
        if len(edited) > 50:
            raise invalid("An alarm can have at most 50 tags.")
        return {**current, "Tags": [{"Key": k, "Value": v} for k, v in edited.items()]}, [], []

    call.store.alarms.change(call.account, call.region, name, change)


def tag_resource(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    name, given = _alarm_of(call, p), tags(p.get("Tags"))
    _retag(call, name, lambda current: {**current, **{t["Key"]: t["Value"] for t in given}})
    return {}


def untag_resource(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    name, keys = _alarm_of(call, p), p.get("TagKeys")
    if not isinstance(keys, list):
        raise api_error("MissingRequiredParameterException")("The parameter TagKeys is required.")
    _retag(call, name, lambda current: {k: v for k, v in current.items() if k not in keys})
    return {}


def list_tags_for_resource(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    stored = call.store.alarms.get(call.account, call.region, _alarm_of(call, p))
    return {"Tags": [] if stored is None else list(stored.body.get("Tags", []))}


OPERATIONS: dict[str, Operation] = {
    "PutMetricAlarm": put_metric_alarm,
    "DescribeAlarms": describe_alarms,
    "DescribeAlarmsForMetric": describe_alarms_for_metric,
    "DescribeAlarmHistory": describe_alarm_history,
    "DeleteAlarms": delete_alarms,
    "SetAlarmState": set_alarm_state,
    "EnableAlarmActions": _set_actions(True),
    "DisableAlarmActions": _set_actions(False),
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
