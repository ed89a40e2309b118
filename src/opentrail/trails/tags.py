"""Tags on trails and channels: AddTags, RemoveTags, ListTags.

Tags live in the resource's own document, under ``body["Tags"]`` as a list of ``{"Key", "Value"}`` (a
tag added without a value has no ``Value``), in the order they were first added. Resources are named by
ARN only; an ARN of another account is "not found", exactly like one that does not exist, so a caller
learns nothing about other accounts -- except an organization trail of the caller's organization, whose
tags members may list but not change (NotOrganizationMasterAccountException).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail import params
from opentrail.arns import ResourceArn, check_resource_id, check_trail_name, parse_cloudtrail_arn
from opentrail.context import Call
from opentrail.errors import (
    ApiError,
    ChannelARNInvalid,
    CloudTrailARNInvalid,
    EventDataStoreARNInvalid,
    InvalidHomeRegion,
    InvalidParameter,
    InvalidTagParameter,
    InvalidToken,
    NotOrganizationMasterAccount,
    ResourceNotFound,
    ResourceTypeNotSupported,
    SerializationException,
    TagsLimitExceeded,
)
from opentrail.organizations import model as organizations
from opentrail.store import Doc
from opentrail.trails.model import Tag

MAX_TAGS = 50
MAX_KEY, MAX_VALUE = 128, 256
MAX_LIST_RESOURCES = 20
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
# Document kind and audit resource type of each taggable ARN type that exists in OpenTrail so far.
TAGGABLE = {"trail": "AWS::CloudTrail::Trail", "channel": "AWS::CloudTrail::Channel"}


def _check_text(text: str, what: str, low: int, high: int) -> None:
    if not low <= len(text) <= high:
        raise InvalidTagParameter(
            f"{what} must be {low}-{high} characters long, got {len(text)}: {text[:140]!r}"
        )
    bad = sorted({ch for ch in text if not (ch.isalnum() or ch.isspace() or ch in _TAG_PUNCTUATION)})
    if bad:
        raise InvalidTagParameter(
            f"{what} {text[:140]!r} contains {''.join(bad)!r}; tags allow letters, digits, spaces and "
            "_ . : / = + - @"
        )


def parse_tags(raw: list[Any], member: str = "TagsList", *, keys_only: bool = False) -> list[Tag]:
    """Validate a TagsList: keys 1-128 and values 0-256 characters, keys unique within the list."""
    tags: list[Tag] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{member}[{i}]"
        entry = params.structure(item, where)
        key = params.string(entry, "Key", error=InvalidTagParameter)
        if key is None:
            raise InvalidTagParameter(f"{where}.Key is required")
        _check_text(key, f"{where}.Key", 1, MAX_KEY)
        if key.lower().startswith("aws:"):
            raise InvalidTagParameter(f"{where}.Key {key!r} uses the reserved prefix 'aws:'")
        if key in seen:
            raise InvalidTagParameter(
                f"{member} gives the tag key {key!r} more than once; keys must be unique"
            )
        seen.add(key)
        value = params.string(entry, "Value", error=InvalidTagParameter)
        if value is not None and not keys_only:
            _check_text(value, f"{where}.Value", 0, MAX_VALUE)
        tags.append(Tag(key, None if keys_only else value))
    return tags


def merge(existing: list[Tag], added: list[Tag], resource: str) -> list[Tag]:
    """``existing`` with ``added`` applied: a known key takes the new value in place, a new key goes last."""
    merged = {tag.key: tag for tag in existing}
    merged.update((tag.key, tag) for tag in added)
    if len(merged) > MAX_TAGS:
        raise TagsLimitExceeded(
            f"{resource} would have {len(merged)} tags; the limit is {MAX_TAGS} tags per resource"
        )
    return list(merged.values())


def stored_tags(body: dict[str, Any]) -> list[Tag]:
    return msgspec.convert(body.get("Tags") or [], list[Tag])


# -- resolving a ResourceId ----------------------------------------------------------------------------------


def _parse(resource_id: str) -> ResourceArn:
    arn = parse_cloudtrail_arn(resource_id)
    if arn.type == "trail":
        check_trail_name(arn.id, CloudTrailARNInvalid)
    elif arn.type == "channel":
        check_resource_id(arn, ChannelARNInvalid)
    elif arn.type == "eventdatastore":
        check_resource_id(arn, EventDataStoreARNInvalid)
    elif arn.type == "dashboard":
        check_resource_id(arn, CloudTrailARNInvalid)
    else:
        raise ResourceTypeNotSupported(
            f"{resource_id[:300]!r} names a resource of type {arn.type!r}; tags apply to trails, event data "
            "stores, dashboards and channels"
        )
    return arn


def _not_found(call: Call, resource_id: str) -> ApiError:
    return ResourceNotFound(f"Resource {resource_id[:300]} not found for the user: {call.account}")


def resolve_resource(call: Call, resource_id: str, *, changing: bool) -> Doc:
    """The document of the resource ``resource_id`` names, checked for account, region and home region."""
    arn = _parse(resource_id)
    if arn.account != call.account and arn.type == "trail":
        return _organization_trail(call, arn, resource_id, changing=changing)
    # Event data stores and dashboards do not exist in OpenTrail yet, so no such ARN can be found.
    if arn.account != call.account or arn.type not in TAGGABLE:
        raise _not_found(call, resource_id)
    # Channels are regional; a trail is readable by ARN from any region (shadow trails), changed only at home.
    if arn.type == "channel" and arn.region != call.region:
        raise _not_found(call, resource_id)
    doc = call.store.get_doc(arn.type, call.account, resource_id)
    if doc is None:
        raise _not_found(call, resource_id)
    call.touch(TAGGABLE[arn.type], doc.arn)
    if changing and arn.type == "trail" and doc.region != call.region:
        raise InvalidHomeRegion(
            f"Trail {doc.arn} can only be tagged from its home region {doc.region}; this call was made in "
            f"{call.region}"
        )
    return doc


def _organization_trail(call: Call, arn: ResourceArn, resource_id: str, *, changing: bool) -> Doc:
    org = organizations.of_account(call.store, call.account)
    doc = None
    if org is not None and org.management == arn.account:
        doc = call.store.get_doc("trail", arn.account, resource_id)
    if doc is None or not doc.body.get("IsOrganizationTrail"):
        raise _not_found(call, resource_id)
    call.touch(TAGGABLE["trail"], doc.arn)
    if changing:
        raise NotOrganizationMasterAccount(
            f"Trail {doc.arn} is an organization trail of the management account {arn.account}; member "
            f"account {call.account} cannot change its tags"
        )
    return doc


def _update(call: Call, doc: Doc, change: Callable[[list[Tag]], list[Tag]]) -> None:
    def apply(current: Doc) -> Doc:
        tags = change(stored_tags(current.body))
        current.body["Tags"] = [msgspec.to_builtins(tag) for tag in tags]
        return current

    try:
        call.store.update_doc(doc.kind, doc.account, doc.arn, apply)
    except KeyError:
        raise _not_found(call, doc.arn) from None


# -- operations ----------------------------------------------------------------------------------------------


def add_tags(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    resource_id = params.required_string(p, "ResourceId", error=InvalidParameter)
    tags = parse_tags(params.array(p, "TagsList", required=True, error=InvalidTagParameter) or [])
    doc = resolve_resource(call, resource_id, changing=True)
    _update(call, doc, lambda existing: merge(existing, tags, resource_id))
    return {}


def remove_tags(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    resource_id = params.required_string(p, "ResourceId", error=InvalidParameter)
    removed = {
        tag.key for tag in parse_tags(params.array(p, "TagsList", required=True) or [], keys_only=True)
    }
    doc = resolve_resource(call, resource_id, changing=True)
    _update(call, doc, lambda existing: [tag for tag in existing if tag.key not in removed])
    return {}


def list_tags(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    ids = params.array(p, "ResourceIdList", required=True) or []
    if params.string(p, "NextToken") is not None:
        # ListTags returns every resource's tags in one page, so there is never a token to continue from.
        raise InvalidToken("NextToken is reserved for future use; this call never returns one")
    if len(ids) > MAX_LIST_RESOURCES:
        raise InvalidParameter(
            f"ResourceIdList can name at most {MAX_LIST_RESOURCES} resources, got {len(ids)}"
        )
    for i, resource_id in enumerate(ids):
        if not isinstance(resource_id, str):
            raise SerializationException(f"ResourceIdList[{i}] must be a string, got {resource_id!r}")
        _parse(resource_id)  # every ARN's form before any resource is looked up
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for resource_id in ids:
        if resource_id in seen:
            continue
        seen.add(resource_id)
        doc = resolve_resource(call, resource_id, changing=False)
        tags = [msgspec.to_builtins(tag) for tag in stored_tags(doc.body)]
        result.append({"ResourceId": resource_id, "TagsList": tags})
    return {"ResourceTagList": result}


OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    "AddTags": add_tags,
    "RemoveTags": remove_tags,
    "ListTags": list_tags,
}
