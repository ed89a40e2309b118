"""The trail selector operations: PutEventSelectors, GetEventSelectors, PutInsightSelectors and
GetInsightSelectors. ``parsing`` validates what they are given, before the trail is looked up (CloudTrail
checks parameters first); the trail's document holds the result,
changed atomically through ``trails.access.change`` (so a concurrent UpdateTrail or tag change survives).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail import params
from opentrail.arns import parse_trail_id
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
    parse_trail_id(name)
    basic = params.array(p, "EventSelectors")
    advanced = params.array(p, "AdvancedEventSelectors")
    if (basic is None) == (advanced is None):
        raise InvalidParameterCombination(
            "Specify either EventSelectors or AdvancedEventSelectors, not "
            + ("both" if basic is not None else "neither")
        )
    # The selectors' form before the trail is looked up, as CloudTrail checks parameters first.
    selection = (
        parse_event_selectors(basic) if basic is not None else parse_advanced_event_selectors(advanced or [])
    )
    trail = access.require_home(call, name)
    trail = access.change(
        call,
        trail,
        lambda current: msgspec.structs.replace(
            current, event_selection=selection, has_custom_event_selectors=True
        ),
    )
    return {"TrailARN": trail.trail_arn, **trail.event_selection.to_wire()}


def get_event_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    # A name that finds nothing is reported as its ARN, as AWS does here (elastic/cloudbeat#1750).
    trail = access.require(call, access.trail_name(p, "TrailName"), report_arn=True)
    return {"TrailARN": trail.trail_arn, **trail.event_selection.to_wire()}


def _target(p: dict[str, Any], *, put: bool) -> tuple[str | None, str | None]:
    """``(TrailName, EventDataStore)``: what an Insights call addresses, checked in form only."""
    trail = params.string(p, "TrailName")
    store = params.string(p, "EventDataStore", min_len=3, max_len=256, error=InvalidParameter)
    destination = params.string(p, "InsightsDestination", min_len=3, max_len=256, error=InvalidParameter)
    if trail is not None:
        if store is not None or destination is not None:
            raise InvalidParameterCombination(
                "TrailName cannot be combined with EventDataStore or InsightsDestination"
            )
        parse_trail_id(trail)
        return trail, None
    if store is None or (put and destination is None) or (not put and destination is not None):
        needed = "both EventDataStore and InsightsDestination" if put else "EventDataStore"
        raise InvalidParameterCombination(f"Specify TrailName, or {needed}")
    return None, store


def _trail_name(target: tuple[str | None, str | None]) -> str:
    """The trail an Insights call addresses; event data stores are not found (none exist yet)."""
    trail, store = target
    if trail is not None:
        return trail
    # moto's text for EventDataStoreNotFoundException (moto/cloudtrail/exceptions.py).
    raise EventDataStoreNotFound(f"The event data store {str(store)[:300]} was not found.")


def _insights_wire(selectors: list[InsightSelector]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(s) for s in selectors]


def put_insight_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    raw = params.array(p, "InsightSelectors", required=True, error=InvalidInsightSelectors)
    target = _target(p, put=True)
    # The selectors' form before the trail (or event data store) is looked up.
    selectors = parse_insight_selectors(raw or [])
    trail = access.require_home(call, _trail_name(target))

    def put(current: Trail) -> Trail:
        # Checked against the stored selectors inside the write, so a concurrent PutEventSelectors
        # cannot leave Insights on a trail that no longer logs what they analyse.
        check_insight_preconditions(selectors, current.event_selection, current.name)
        return msgspec.structs.replace(current, insight_selectors=selectors)

    trail = access.change(call, trail, put)
    return {"TrailARN": trail.trail_arn, "InsightSelectors": _insights_wire(trail.insight_selectors)}


def get_insight_selectors(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = access.require(call, _trail_name(_target(p, put=False)))
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
