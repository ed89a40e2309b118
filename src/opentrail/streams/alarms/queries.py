"""The reading operations: DescribeAlarms, DescribeAlarmsForMetric and DescribeAlarmHistory.

Pages: DescribeAlarms answers alarms by name in byte order, DescribeAlarmHistory items by time (then by
the order they were written), each page's NextToken sealed with the server's secret and bound to the
call's filters (``tokens.py``), so a token altered or replayed with other filters is InvalidNextToken.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from opentrail.context import Call
from opentrail.errors import ApiError, api_error
from opentrail.store.alarms import HistoryQuery, StoredAlarm
from opentrail.streams.alarms.checks import UNITS, alarm_name, combination, dimensions, invalid, validation
from opentrail.streams.alarms.model import ALARM_TYPE, metric_key, returned_query, wire
from opentrail.streams.alarms.rule import STATES
from opentrail.streams.metrics.statistics import STATISTICS
from opentrail.tokens import query_fingerprint

__all__ = ["describe_alarm_history", "describe_alarms", "describe_alarms_for_metric"]

DEFAULT_ALARMS_PAGE = 50
DEFAULT_HISTORY_PAGE = 100
MAX_PAGE = 100
ALARM_TYPES = ("CompositeAlarm", "MetricAlarm", "LogAlarm")
HISTORY_TYPES = (
    "ConfigurationUpdate",
    "StateUpdate",
    "Action",
    "AlarmContributorStateUpdate",
    "AlarmContributorAction",
)


def _bad_token() -> ApiError:
    return api_error("InvalidNextToken")(
        "The NextToken is not valid: it was not returned by this call with these parameters."
    )


def _max_records(p: dict[str, Any], default: int) -> int:
    value = p.get("MaxRecords", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise validation(
            f"1 validation error detected: Value '{value}' at 'maxRecords' failed to satisfy constraint: "
            f"Member must have value between 1 and {MAX_PAGE}"
        )
    return value


def _alarm_types(p: dict[str, Any]) -> list[str]:
    types = p.get("AlarmTypes")
    if types is None:
        return [ALARM_TYPE]
    if not isinstance(types, list) or any(t not in ALARM_TYPES for t in types):
        raise validation(
            "1 validation error detected: Value at 'alarmTypes' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(ALARM_TYPES)}]"
        )
    return types


def _names(p: dict[str, Any]) -> list[str] | None:
    names = p.get("AlarmNames")
    if names is None:
        return None
    if not isinstance(names, list) or len(names) > MAX_PAGE:
        raise validation(
            "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PAGE}"
        )
    return [alarm_name({"AlarmName": n}) for n in names]


def _selected(alarm: StoredAlarm, p: dict[str, Any], names: list[str] | None) -> bool:
    body = alarm.body
    prefix, state, action = p.get("AlarmNamePrefix"), p.get("StateValue"), p.get("ActionPrefix")
    if names is not None and alarm.name not in names:
        return False
    if prefix is not None and not alarm.name.startswith(prefix):
        return False
    if state is not None and body["StateValue"] != state:
        return False
    if action is not None:
        actions = [
            *body.get("OKActions", []),
            *body.get("AlarmActions", []),
            *body.get("InsufficientDataActions", []),
        ]
        return any(a.startswith(action) for a in actions)
    return True


def describe_alarms(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    names = _names(p)
    if names is not None and p.get("AlarmNamePrefix") is not None:
        raise combination("AlarmNames and AlarmNamePrefix cannot both be specified.")
    state = p.get("StateValue")
    if state is not None and state not in STATES:
        raise validation(
            f"1 validation error detected: Value '{state}' at 'stateValue' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(STATES)}]"
        )
    limit, types = _max_records(p, DEFAULT_ALARMS_PAGE), _alarm_types(p)
    composite = p.get("ChildrenOfAlarmName") is not None or p.get("ParentsOfAlarmName") is not None
    found: list[StoredAlarm] = []
    if ALARM_TYPE in types and not composite:  # no composite alarms: none has children or parents
        found = [a for a in call.store.alarms.in_region(call.account, call.region) if _selected(a, p, names)]
    filters = {k: v for k, v in p.items() if k not in ("NextToken", "MaxRecords")}
    scope = f"DescribeAlarms:{call.account}:{call.region}:{query_fingerprint(filters)}"
    token = p.get("NextToken")
    if token is not None:
        after = call.services.sealer.open(token, scope, api_error("InvalidNextToken"))
        if not isinstance(after, str):
            raise _bad_token()
        found = [a for a in found if a.name.encode() > after.encode()]
    page = found[:limit]
    result: dict[str, Any] = {"MetricAlarms": [wire(a.body) for a in page], "CompositeAlarms": []}
    if len(found) > limit:
        result["NextToken"] = call.services.sealer.seal(scope, page[-1].name)
    return result


def _on_metric(alarm: StoredAlarm, p: dict[str, Any], wanted: tuple[tuple[str, str], ...]) -> bool:
    body = alarm.body
    key = metric_key(body, alarm.account, alarm.region)
    if (key.name, key.namespace) != (p["MetricName"], p["Namespace"]):
        return False
    if key.dimensions != wanted:
        return False
    query = returned_query(body)
    stat = query["MetricStat"] if query is not None else body
    statistic = stat.get("Stat") if query is not None else body.get("Statistic")
    extended = stat.get("Stat") if query is not None else body.get("ExtendedStatistic")
    checks = (
        ("Statistic", statistic),
        ("ExtendedStatistic", extended),
        ("Period", stat.get("Period")),
        ("Unit", stat.get("Unit")),
    )
    return all(p.get(name) is None or p.get(name) == value for name, value in checks)


def describe_alarms_for_metric(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    for name in ("MetricName", "Namespace"):
        if not isinstance(p.get(name), str) or not p[name]:
            raise api_error("MissingRequiredParameterException")(f"The parameter {name} is required.")
    for name, allowed in (("Statistic", STATISTICS), ("Unit", UNITS)):
        value = p.get(name)
        if value is not None and value not in allowed:  # a modelled enum: AWS's validation error
            raise validation(
                f"1 validation error detected: Value '{value}' at '{name.lower()}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
    # A metric is its namespace, name and dimensions: "If the metric has any associated dimensions, you
    # must specify them" (the API reference), so none given is the metric without dimensions.
    wanted = tuple(sorted((d["Name"], d["Value"]) for d in dimensions(p.get("Dimensions"))))
    alarms = call.store.alarms.in_region(call.account, call.region)
    return {"MetricAlarms": [wire(a.body) for a in alarms if _on_metric(a, p, wanted)]}


def _history_query(call: Call, p: dict[str, Any]) -> HistoryQuery:
    name = None if p.get("AlarmName") is None else alarm_name(p)
    item_type = p.get("HistoryItemType")
    if item_type is not None and item_type not in HISTORY_TYPES:
        raise validation(
            f"1 validation error detected: Value '{item_type}' at 'historyItemType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(HISTORY_TYPES)}]"
        )
    scan = p.get("ScanBy", "TimestampDescending")
    if scan not in ("TimestampDescending", "TimestampAscending"):
        raise validation(
            f"1 validation error detected: Value '{scan}' at 'scanBy' failed to satisfy constraint: "
            "Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
        )
    start, end = p.get("StartDate"), p.get("EndDate")
    for label, value in (("StartDate", start), ("EndDate", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise invalid(f"The parameter {label} must be a timestamp.")
    if start is not None and end is not None and start > end:
        raise invalid("The parameter StartDate must be before EndDate.")
    return HistoryQuery(
        call.account,
        call.region,
        name=name,
        item_type=item_type,
        start=None if start is None else float(start),
        end=None if end is None else float(end),
        ascending=scan == "TimestampAscending",
        limit=_max_records(p, DEFAULT_HISTORY_PAGE) + 1,
    )


def describe_alarm_history(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    query = _history_query(call, p)
    types = _alarm_types(p)
    filters = {k: v for k, v in p.items() if k not in ("NextToken", "MaxRecords")}
    scope = f"DescribeAlarmHistory:{call.account}:{call.region}:{query_fingerprint(filters)}"
    token = p.get("NextToken")
    if token is not None:
        after = call.services.sealer.open(token, scope, api_error("InvalidNextToken"))
        if not (isinstance(after, list) and len(after) == 2):
            raise _bad_token()
        query = dataclasses.replace(query, after=(float(after[0]), int(after[1])))
    # Items of one contributor of a Metrics Insights alarm: OpenTrail has no such alarms, so none.
    contributor = p.get("AlarmContributorId") is not None
    rows = call.store.alarms.history(query) if ALARM_TYPE in types and not contributor else []
    page = rows[: query.limit - 1]
    items = [
        {
            "AlarmName": r.name,
            "AlarmType": r.alarm_type,
            "Timestamp": r.at,
            "HistoryItemType": r.item_type,
            "HistorySummary": r.summary,
            "HistoryData": r.data,
        }
        for r in page
    ]
    result: dict[str, Any] = {"AlarmHistoryItems": items}
    if len(rows) > len(page):
        result["NextToken"] = call.services.sealer.seal(scope, [page[-1].at, page[-1].id])
    return result
