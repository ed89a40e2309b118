"""ListMetrics: the account's metrics in the region, filtered by namespace, name and dimensions (a
filter with only a Name matches any value), ``RecentlyActive=PT3H`` for those with data in the past
three hours, 500 a page with a sealed ``NextToken``. Cross-account observability is not offered:
``IncludeLinkedAccounts`` lists this account's own metrics and ``OwningAccounts`` is never returned."""

from __future__ import annotations

from typing import Any

from opentrail.context import Call
from opentrail.store.metrics import MetricKey
from opentrail.streams.metrics import validation as v

__all__ = ["list_metrics"]

PAGE = 500
RECENT = 3 * 3600
MAX_FILTERS = 10


def _filters(params: dict[str, Any]) -> list[tuple[str, str | None]]:
    filters = params.get("Dimensions") or []
    if len(filters) > MAX_FILTERS:
        raise v.InvalidParameterValue(
            f"The collection Dimensions must not have a size greater than {MAX_FILTERS}."
        )
    found = []
    for i, item in enumerate(filters, 1):
        name = item.get("Name")
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise v.InvalidParameterValue(
                f"The parameter Dimensions.member.{i}.Name must be 1 to 255 characters."
            )
        found.append((name, item.get("Value")))
    return found


def _matches(key: MetricKey, filters: list[tuple[str, str | None]]) -> bool:
    dimensions = dict(key.dimensions)
    return all(name in dimensions and value in (None, dimensions[name]) for name, value in filters)


def list_metrics(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    space = params.get("Namespace")
    if space is not None:
        v.namespace(space)
    name = params.get("MetricName")
    if name is not None:
        v.metric_name(name, "MetricName")
    recently = params.get("RecentlyActive")
    if recently not in (None, "PT3H"):
        raise v.InvalidParameterValue(
            f"The value {str(recently)[:64]} for parameter RecentlyActive is invalid."
        )
    filters = _filters(params)
    scope = v.paging_scope("ListMetrics", params)
    start = 0
    if params.get("NextToken") is not None:
        start = int(call.services.sealer.open(params["NextToken"], scope, v.InvalidNextToken))
    since = int(call.now) - RECENT if recently else None
    keys = [
        key
        for key in call.store.metrics.metrics(call.account, call.region, space, name, since)
        if _matches(key, filters)
    ]
    page = keys[start : start + PAGE]
    answer: dict[str, Any] = {
        "Metrics": [
            {
                "Namespace": key.namespace,
                "MetricName": key.name,
                "Dimensions": [{"Name": n, "Value": value} for n, value in key.dimensions],
            }
            for key in page
        ]
    }
    if start + PAGE < len(keys):
        answer["NextToken"] = call.services.sealer.seal(scope, start + PAGE)
    return answer
