"""What an alarm's changes write: its next state, and the history items CloudWatch keeps of them.

- ConfigurationUpdate: ``Alarm "name" created`` / ``updated`` / ``deleted``, HistoryData
  ``{"version":"1.0","type":"Create","createdAlarm":{...}}`` (``Update``: ``updatedAlarm`` and
  ``originalAlarm``; ``Delete``: ``deletedAlarm``), the alarm's members in camelCase as CloudWatch writes
  them.
- StateUpdate: ``Alarm updated from OK to ALARM``, HistoryData ``{"version":"1.0","oldState":{...},
  "newState":{"stateValue","stateReason","stateReasonData"}}``.

A state change (``transition``) is the new body, its StateUpdate item and the outbox notices of its
actions, which the caller writes in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentrail.store import Doc
from opentrail.store.alarms import HistoryRow
from opentrail.streams.alarms.actions import notices
from opentrail.streams.alarms.model import ALARM_TYPE, wire
from opentrail.streams.alarms.reasons import timestamp

__all__ = ["Change", "configuration_item", "transition"]

HISTORY_DATA_LIMIT = 4095
_TIMES = ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp")

# A change's writes: the new body, its history rows, the documents (notices) to queue with it.
Change = tuple[dict[str, Any], list[HistoryRow], list[Doc]]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _camel(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in wire(body).items():
        name = "oKActions" if key == "OKActions" else key[0].lower() + key[1:]
        out[name] = timestamp(value) if key in _TIMES else value
    return out


def configuration_item(
    account: str, region: str, kind: str, at: float, new: dict[str, Any] | None, old: dict[str, Any] | None
) -> HistoryRow:
    """A ConfigurationUpdate item: ``kind`` is Create, Update or Delete."""
    name = (new or old or {})["AlarmName"]
    data: dict[str, Any] = {"version": "1.0", "type": kind}
    if kind == "Create" and new is not None:
        data["createdAlarm"] = _camel(new)
    elif kind == "Update" and new is not None and old is not None:
        data.update(updatedAlarm=_camel(new), originalAlarm=_camel(old))
    elif old is not None:
        data["deletedAlarm"] = _camel(old)
    text = _compact(data)
    if len(text) > HISTORY_DATA_LIMIT:  # too long to keep whole: the type alone
        text = _compact({"version": "1.0", "type": kind})
    summary = {"Create": "created", "Update": "updated", "Delete": "deleted"}[kind]
    return HistoryRow(
        account, region, name, ALARM_TYPE, "ConfigurationUpdate", at, f'Alarm "{name}" {summary}', text
    )


def _state_item(account: str, region: str, old: dict[str, Any], new: dict[str, Any], at: float) -> HistoryRow:
    old_state = {"stateValue": old["StateValue"], "stateReason": old["StateReason"]}
    new_state: dict[str, Any] = {"stateValue": new["StateValue"], "stateReason": new["StateReason"]}
    if new.get("StateReasonData"):
        new_state["stateReasonData"] = json.loads(new["StateReasonData"])
    data = {"version": "1.0", "oldState": old_state, "newState": new_state}
    text = _compact(data)
    if len(text) > HISTORY_DATA_LIMIT:
        new_state.pop("stateReasonData", None)
        text = _compact(data)
    summary = f"Alarm updated from {old['StateValue']} to {new['StateValue']}"
    return HistoryRow(account, region, new["AlarmName"], ALARM_TYPE, "StateUpdate", at, summary, text)


def transition(
    body: dict[str, Any],
    account: str,
    region: str,
    state: str,
    reason: str,
    data: str | None,
    now: float,
    new_id: Callable[[], str],
) -> Change:
    """``body`` put in ``state`` at ``now`` (``data``: StateReasonData's JSON text, if any): the new
    body, its StateUpdate item, and the notices of its actions when the state value changed."""
    new = dict(body)
    new.update(StateValue=state, StateReason=reason, StateUpdatedTimestamp=now)
    if data is None:
        new.pop("StateReasonData", None)
    else:
        new["StateReasonData"] = data
    changed = state != body["StateValue"]
    if changed:
        new["StateTransitionedTimestamp"] = now
    docs = notices(new, account, region, body["StateValue"], new_id) if changed else []
    return new, [_state_item(account, region, body, new, now)], docs
