"""The trail selector operations: PutEventSelectors, GetEventSelectors, PutInsightSelectors and
GetInsightSelectors. ``parsing`` validates what they are given; the trail's document holds the result,
changed atomically through ``trails.access.change`` (so a concurrent UpdateTrail or tag change survives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail import params
from opentrail.context import Call
from opentrail.errors import (
    EventDataStoreNotFound,
    InsightNotEnabled,
    InvalidInsightSelectors,
    InvalidParameter,
    InvalidParameterCombination,
)
from opentrail.selectors.model import InsightSelector
from opentrail.selectors.parsing import (
    check_insight_preconditions,
    parse_advanced_event_selectors,
    parse_event_selectors,
    parse_insight_selectors,
)
from opentrail.trails import access
from opentrail.trails.model import Trail


def put_event_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    name = access.trail_name(p, "TrailName")
    basic = params.array(p, "EventSelectors")
    advanced = params.array(p, "AdvancedEventSelectors")
    if (basic is None) == (advanced is None):
        raise InvalidParameterCombination(
            "Specify either EventSelectors or AdvancedEventSelectors, not "
            + ("both" if basic is not None else "neither")
        )
    trail = access.require_home(call, name)
    selection = (
        parse_event_selectors(basic) if basic is not None else parse_advanced_event_selectors(advanced or [])
    )
    trail = access.change(
        call,
        trail,
        lambda current: msgspec.structs.replace(
            current, event_selection=selection, has_custom_event_selectors=True
        ),
    )
    return {"TrailARN": trail.trail_arn, **trail.event_selection.to_wire()}


def get_event_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = access.require(call, access.trail_name(p, "TrailName"))
    return {"TrailARN": trail.trail_arn, **trail.event_selection.to_wire()}


def _event_data_store_target(call: Call, p: dict[str, Any], *, put: bool) -> str:
    """The trail an Insights call addresses; event data store forms are refused (none exist yet)."""
    trail = params.string(p, "TrailName")
    store = params.string(p, "EventDataStore", min_len=3, max_len=256, error=InvalidParameter)
    destination = params.string(p, "InsightsDestination", min_len=3, max_len=256, error=InvalidParameter)
    if trail is not None:
        if store is not None or destination is not None:
            raise InvalidParameterCombination(
                "TrailName cannot be combined with EventDataStore or InsightsDestination"
            )
        return trail
    if store is None or (put and destination is None) or (not put and destination is not None):
        needed = "both EventDataStore and InsightsDestination" if put else "EventDataStore"
        raise InvalidParameterCombination(f"Specify TrailName, or {needed}")
    raise EventDataStoreNotFound(f"Event data store {store[:300]} not found for the user: {call.account}")


def _insights_wire(selectors: list[InsightSelector]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in selectors]


def put_insight_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    raw = params.array(p, "InsightSelectors", required=True, error=InvalidInsightSelectors)
    name = _event_data_store_target(call, p, put=True)
    trail = access.require_home(call, name)
    selectors = parse_insight_selectors(raw or [])

    def put(current: Trail) -> Trail:
        # Checked against the stored selectors inside the write, so a concurrent PutEventSelectors
        # cannot leave Insights on a trail that no longer logs what they analyse.
        check_insight_preconditions(selectors, current.event_selection, current.name)
        return msgspec.structs.replace(current, insight_selectors=selectors)

    trail = access.change(call, trail, put)
    return {"TrailARN": trail.trail_arn, "InsightSelectors": _insights_wire(trail.insight_selectors)}


def get_insight_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = access.require(call, _event_data_store_target(call, p, put=False))
    if not trail.insight_selectors:
        raise InsightNotEnabled(
            f"Trail {trail.name} does not have Insights enabled. Edit the trail settings to enable Insights, "
            "and then try the operation again."
        )
    return {"TrailARN": trail.trail_arn, "InsightSelectors": _insights_wire(trail.insight_selectors)}


OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    "PutEventSelectors": put_event_selectors,
    "GetEventSelectors": get_event_selectors,
    "PutInsightSelectors": put_insight_selectors,
    "GetInsightSelectors": get_insight_selectors,
}
