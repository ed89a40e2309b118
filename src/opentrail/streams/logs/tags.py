"""Tags on log groups: TagResource, UntagResource, ListTagsForResource (by ARN) and the legacy
TagLogGroup, UntagLogGroup, ListTagsLogGroup (by name). At most 50 per group; keys and values as the
logs model allows; the ``aws:`` prefix is AWS's own."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import InvalidParameter, ResourceNotFound, TooManyTags
from opentrail.store.logs import LogGroup
from opentrail.streams.logs.requests import GROUP_NOT_FOUND, group_name, group_of_arn, invalid, touch_group
from opentrail.streams.logs.requests import text as checked_text

MAX_TAGS = 50
_TAG_PUNCTUATION = set("_.:/=+-@")
_TAG_PATTERN = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


def _tag_text(text: str) -> bool:
    return all(c.isalpha() or c.isnumeric() or c.isspace() or c in _TAG_PUNCTUATION for c in text)


def checked_tags(value: Any, member: str = "tags") -> dict[str, str]:
    """A ``tags`` map (1-50 entries), each key 1-128 and value 0-256 characters of the model's set."""
    tags = params.structure(value, member)
    if not 1 <= len(tags) <= MAX_TAGS:
        raise invalid(f"{len(tags)} tags", member, f"have length between 1 and {MAX_TAGS}")
    for key, value in tags.items():
        text = checked_text(value, f"{member}.{key}")
        if not 1 <= len(key) <= 128 or not _tag_text(key):
            raise invalid(key, f"{member}.key", f"satisfy regular expression pattern: {_TAG_PATTERN}")
        if len(text) > 256 or not _tag_text(text):
            raise invalid(text, f"{member}.{key}", f"satisfy regular expression pattern: {_TAG_PATTERN}")
        if key.lower().startswith("aws:"):
            raise InvalidParameter(f"Tag keys may not start with 'aws:', got {key!r}")
    return dict(tags)


def _keys(value: Any, member: str) -> list[str]:
    keys = params.array({member: value}, member, required=True) or []
    if len(keys) > MAX_TAGS:
        raise invalid(f"{len(keys)} keys", member, f"have length less than or equal to {MAX_TAGS}")
    for key in keys:
        if not 1 <= len(checked_text(key, member)) <= 128:
            raise invalid(key, member, "have length between 1 and 128")
    return keys


def _change(call: Call, group: str, add: dict[str, str], remove: list[str], missing: str) -> LogGroup:
    def change(current: LogGroup) -> LogGroup:
        tags = {k: v for k, v in current.tags.items() if k not in remove}
        tags.update(add)
        if len(tags) > MAX_TAGS:
            raise TooManyTags(
                f"A resource can have no more than {MAX_TAGS} tags; this change would leave it {len(tags)}"
            )
        return dataclasses.replace(current, tags=tags)

    try:
        changed = call.store.logs.update_group(call.account, call.region, group, change)
    except KeyError:
        raise ResourceNotFound(missing) from None
    touch_group(call, group)
    return changed


def _arn_group(call: Call, p: params.Params) -> str:
    arn = params.required_string(p, "resourceArn", min_len=1, max_len=1011)
    group = group_of_arn(call, arn)
    if group is None:
        raise ResourceNotFound(f"The specified resource does not exist: {arn[:200]}")
    return group


def tag_resource(call: Call, p: params.Params) -> dict[str, Any]:
    group = _arn_group(call, p)
    _change(call, group, checked_tags(p.get("tags")), [], "The specified resource does not exist.")
    return {}


def untag_resource(call: Call, p: params.Params) -> dict[str, Any]:
    group = _arn_group(call, p)
    _change(call, group, {}, _keys(p.get("tagKeys"), "tagKeys"), "The specified resource does not exist.")
    return {}


def list_tags_for_resource(call: Call, p: params.Params) -> dict[str, Any]:
    group = _arn_group(call, p)
    found = call.store.logs.group(call.account, call.region, group)
    if found is None:
        raise ResourceNotFound("The specified resource does not exist.")
    return {"tags": found.tags}


def tag_log_group(call: Call, p: params.Params) -> dict[str, Any]:
    _change(call, group_name(p), checked_tags(p.get("tags")), [], GROUP_NOT_FOUND)
    return {}


def untag_log_group(call: Call, p: params.Params) -> dict[str, Any]:
    _change(call, group_name(p), {}, _keys(p.get("tags"), "tags"), GROUP_NOT_FOUND)
    return {}


def list_tags_log_group(call: Call, p: params.Params) -> dict[str, Any]:
    found = call.store.logs.group(call.account, call.region, group_name(p))
    if found is None:
        raise ResourceNotFound(GROUP_NOT_FOUND)
    return {"tags": found.tags}


OPERATIONS = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "TagLogGroup": tag_log_group,
    "UntagLogGroup": untag_log_group,
    "ListTagsLogGroup": list_tags_log_group,
}
