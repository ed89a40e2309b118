"""CreateLogGroup, DeleteLogGroup and DescribeLogGroups: an account's log groups in a region."""

from __future__ import annotations

from typing import Any

from opentrail import params
from opentrail.clock import to_millis
from opentrail.context import Call
from opentrail.errors import ConflictError, InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from opentrail.store.logs import LogGroup
from opentrail.streams.logs import pages
from opentrail.streams.logs.requests import (
    GROUP_NAME,
    GROUP_NOT_FOUND,
    group_name,
    group_of_arn,
    invalid,
    limit,
    name,
    optional_prefix,
    touch_group,
    typed,
)
from opentrail.streams.logs.tags import checked_tags

GROUP_CLASSES = ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS")
SCAN_PAGE = 500  # rows read at a time while a pattern or a class filter skips some


def _group_class(p: params.Params, member: str = "logGroupClass") -> str | None:
    value = params.string(p, member)
    if value is not None and value not in GROUP_CLASSES:
        raise invalid(value, member, f"satisfy enum value set: [{', '.join(GROUP_CLASSES)}]")
    return value


def create_log_group(call: Call, p: params.Params) -> dict[str, Any]:
    group = group_name(p)
    kms = params.string(p, "kmsKeyId", max_len=256)
    tags = checked_tags(p["tags"]) if p.get("tags") is not None else {}
    if params.boolean(p, "deletionProtectionEnabled"):
        raise InvalidParameter("deletionProtectionEnabled is not supported by this server")
    row = LogGroup(
        call.account,
        call.region,
        group,
        to_millis(call.now),
        kms_key_id=kms or None,
        group_class=_group_class(p) or "STANDARD",
        tags=tags,
    )
    try:
        call.store.logs.create_group(row)
    except ConflictError:
        raise ResourceAlreadyExists("The specified log group already exists") from None
    touch_group(call, group)
    return {}


def delete_log_group(call: Call, p: params.Params) -> dict[str, Any]:
    group = group_name(p)
    if not call.store.logs.delete_group(call.account, call.region, group):
        raise ResourceNotFound(GROUP_NOT_FOUND)
    touch_group(call, group)
    return {}


def described(group: LogGroup, brief: bool = False) -> dict[str, Any]:
    """A ``LogGroup`` as DescribeLogGroups shows it (``brief``: what a name pattern shows)."""
    shown: dict[str, Any] = {"logGroupName": group.name, "creationTime": group.created}
    if brief:
        shown["arn"] = f"{group.arn}:*"
        return shown
    if group.retention_days is not None:
        shown["retentionInDays"] = group.retention_days
    shown["metricFilterCount"] = group.metric_filter_count
    shown["arn"] = f"{group.arn}:*"
    shown["storedBytes"] = group.stored_bytes
    if group.kms_key_id:
        shown["kmsKeyId"] = group.kms_key_id
    shown["logGroupClass"] = group.group_class
    shown["logGroupArn"] = group.arn
    return shown


def _identifiers(call: Call, p: params.Params) -> set[str] | None:
    values = params.array(p, "logGroupIdentifiers")
    if values is None:
        return None
    if not 1 <= len(values) <= 50:
        raise invalid(f"{len(values)} identifiers", "logGroupIdentifiers", "have length between 1 and 50")
    names = set()
    for value in values:
        text = params.required_string({"id": value}, "id", max_len=2048)
        found = group_of_arn(call, text) if text.startswith("arn:") else text
        if found is not None:
            names.add(found)
    return names


def describe_log_groups(call: Call, p: params.Params) -> dict[str, Any]:
    # No linked accounts here: a caller sees its own account's groups whatever these say.
    typed(p, accountIdentifiers="strings", includeLinkedAccounts="boolean")
    prefix = optional_prefix(p, "logGroupNamePrefix", GROUP_NAME)
    pattern = None if p.get("logGroupNamePattern") is None else name(
        p["logGroupNamePattern"], "logGroupNamePattern", GROUP_NAME, min_len=0
    )  # fmt: skip
    if prefix is not None and pattern is not None:
        raise InvalidParameter("logGroupNamePattern and logGroupNamePrefix are mutually exclusive.")
    identifiers = _identifiers(call, p)
    if identifiers is not None and (prefix is not None or pattern is not None):
        raise InvalidParameter("logGroupIdentifiers cannot be combined with a name prefix or pattern.")
    group_class = _group_class(p)
    count = limit(p, "limit", 50, 50)
    query = [prefix, pattern, group_class, sorted(identifiers) if identifiers is not None else None]
    scope = pages.scope("DescribeLogGroups", call, query)
    after = pages.position(call, p, scope)

    def wanted(group: LogGroup) -> bool:
        return (
            (not pattern or pattern in group.name)
            and (group_class is None or group.group_class == group_class)
            and (identifiers is None or group.name in identifiers)
        )

    found: list[LogGroup] = []
    while len(found) <= count:
        batch = call.store.logs.groups(call.account, call.region, prefix=prefix, after=after, limit=SCAN_PAGE)
        found += [g for g in batch if wanted(g)]
        if len(batch) < SCAN_PAGE:
            break
        after = batch[-1].name
    result: dict[str, Any] = {"logGroups": [described(g, pattern is not None) for g in found[:count]]}
    if len(found) > count:
        result["nextToken"] = pages.token(call, scope, found[count - 1].name)
    return result


OPERATIONS = {
    "CreateLogGroup": create_log_group,
    "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups,
}
