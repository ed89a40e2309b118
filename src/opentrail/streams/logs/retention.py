"""PutRetentionPolicy and DeleteRetentionPolicy: how long a group keeps its events (the server's
retention loop purges older ones, ``store.logs.purge``; PutLogEvents refuses them as expired)."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import ResourceNotFound
from opentrail.store.logs import LogGroup
from opentrail.streams.logs.requests import GROUP_NOT_FOUND, group_name, invalid, touch_group

# The values the logs model documents for ``Days``.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def checked_days(p: params.Params) -> int:
    days = params.integer(p, "retentionInDays")
    if days is None:
        raise invalid(None, "retentionInDays", "not be null")
    if days not in RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in RETENTION_DAYS)
        raise invalid(days, "retentionInDays", f"satisfy enum value set: [{allowed}]")
    return days


def _set(call: Call, group: str, days: int | None) -> None:
    def change(current: LogGroup) -> LogGroup:
        return dataclasses.replace(current, retention_days=days)

    try:
        call.store.logs.update_group(call.account, call.region, group, change)
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    touch_group(call, group)


def put_retention_policy(call: Call, p: params.Params) -> dict[str, Any]:
    group = group_name(p)
    _set(call, group, checked_days(p))
    return {}


def delete_retention_policy(call: Call, p: params.Params) -> dict[str, Any]:
    _set(call, group_name(p), None)
    return {}


OPERATIONS = {
    "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy,
}
