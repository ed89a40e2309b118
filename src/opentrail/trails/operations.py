"""Trails: CloudTrail's trail management operations, with its validation rules and named errors.

The trail itself is ``model.Trail``; ``access`` finds and changes stored trails as the caller sees them
(shadow trails of multi-region trails included). Each change is announced to ``listeners`` (delivery,
ingest's coverage), never to a worker directly.

An organization trail (IsOrganizationTrail, made by an organization's management account) delivers
every member account's events too. Members see it read-only, as CloudTrail shows it to them: listed by
DescribeTrails (as a shadow trail), readable by ARN with GetTrail, GetTrailStatus and the Get*Selectors
calls; every change they try is NotOrganizationMasterAccountException.

Limits hold per region over what the region sees: the trails homed there plus multi-region trails homed
elsewhere; at most five, with distinct names. CreateTrail checks this inside the store's write
transaction, so concurrent creates cannot exceed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail import params
from opentrail.arns import check_trail_name, parse_trail_id, trail_arn
from opentrail.clock import format_time
from opentrail.context import Call
from opentrail.errors import (
    ConflictError,
    InvalidNextToken,
    InvalidParameterCombination,
    InvalidS3BucketName,
    InvalidTrailName,
    MaximumNumberOfTrailsExceeded,
    NotOrganizationMasterAccount,
    OrganizationNotInAllFeaturesMode,
    OrganizationsNotInUse,
    SerializationException,
    TrailAlreadyExists,
)
from opentrail.organizations import model as organizations
from opentrail.store import Doc
from opentrail.trails import destinations
from opentrail.trails.access import (
    account_trails,
    change,
    find,
    not_found,
    organization_trails,
    require,
    require_home,
    trail_name,
)
from opentrail.trails.model import (
    KIND,
    RESOURCE_TYPE,
    Trail,
    decode,
    response,
    to_doc,
    trail_object,
)
from opentrail.trails.tags import merge, parse_tags

MAX_TRAILS_PER_REGION = 5
PAGE_SIZE = 20


# -- limits --------------------------------------------------------------------------------------------------


def check_room(trails: list[Trail], new: Trail, account: str) -> None:
    """``new`` may join ``trails`` (the account's others): names distinct and at most five per region,
    in every region that will see it."""
    others = [t for t in trails if t.trail_arn != new.trail_arn]
    for other in others:
        clash = (
            other.home_region == new.home_region or other.is_multi_region_trail or new.is_multi_region_trail
        )
        if other.name == new.name and clash:
            where = "" if other.home_region == new.home_region else f" in region {other.home_region}"
            raise TrailAlreadyExists(f"Trail {new.name} already exists{where} for customer: {account}")
    regions = {new.home_region}
    if new.is_multi_region_trail:
        regions.update(t.home_region for t in others)
    for region in sorted(regions):
        seen = sum(1 for t in others if t.visible_in(region))
        if seen >= MAX_TRAILS_PER_REGION:
            raise MaximumNumberOfTrailsExceeded(
                f"User: {account} already has {seen} trails in {region} (counting multi-region trails homed "
                f"elsewhere); the limit is {MAX_TRAILS_PER_REGION} per region"
            )


# -- configuration (CreateTrail and UpdateTrail) -------------------------------------------------------------

_FLAGS = (
    ("IncludeGlobalServiceEvents", "include_global_service_events"),
    ("IsMultiRegionTrail", "is_multi_region_trail"),
    ("EnableLogFileValidation", "log_file_validation_enabled"),
    ("RecursiveLogging", "recursive_logging"),
)


def _cloud_watch_changes(p: dict[str, Any]) -> dict[str, Any]:
    group = params.string(p, "CloudWatchLogsLogGroupArn")
    role = params.string(p, "CloudWatchLogsRoleArn")
    if group or role:
        if not (group and role):
            raise InvalidParameterCombination(
                "CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn must be given together"
            )
        destinations.check_log_group_arn(group)
        destinations.check_role_arn(role)
        return {"cloud_watch_logs_log_group_arn": group, "cloud_watch_logs_role_arn": role}
    if group is not None or role is not None:  # an empty string turns CloudWatch Logs delivery off
        return {"cloud_watch_logs_log_group_arn": None, "cloud_watch_logs_role_arn": None}
    return {}


def configure(call: Call, trail: Trail, p: dict[str, Any]) -> Trail:
    """``trail`` with the members given in ``p`` applied and validated; absent members keep their values,
    an empty string clears an optional one."""
    changes: dict[str, Any] = {}
    region = trail.home_region
    bucket = params.string(p, "S3BucketName")
    if bucket is not None:
        destinations.check_bucket(call, bucket)
        changes["s3_bucket_name"] = bucket
    prefix = params.string(p, "S3KeyPrefix")
    if prefix is not None:
        destinations.check_prefix(prefix)
        changes["s3_key_prefix"] = prefix or None
    topic = params.string(p, "SnsTopicName")
    if topic is not None:
        name_arn = destinations.sns_topic(topic, region, call.account) if topic else (None, None)
        if name_arn[1] is not None:
            name_arn = name_arn[0], destinations.check_topic(call, name_arn[1], trail.trail_arn)
        changes["sns_topic_name"], changes["sns_topic_arn"] = name_arn
    key = params.string(p, "KmsKeyId")
    if key is not None:
        changes["kms_key_id"] = destinations.kms_key(key, region, call.account) if key else None
    changes.update(_cloud_watch_changes(p))
    for member, attr in _FLAGS:
        value = params.boolean(p, member)
        if value is not None:
            changes[attr] = value
    changes.update(_organization_changes(call, params.boolean(p, "IsOrganizationTrail")))
    new = msgspec.structs.replace(trail, **changes)
    if new.is_multi_region_trail and not new.include_global_service_events:
        raise InvalidParameterCombination(
            "A multi-region trail must include global service events; IncludeGlobalServiceEvents cannot be "
            "false when IsMultiRegionTrail is true"
        )
    return new


def _organization_changes(call: Call, wanted: bool | None) -> dict[str, Any]:
    if wanted is None:
        return {}
    if not wanted:
        return {"is_organization_trail": False, "organization_id": None}
    org = organizations.of_account(call.store, call.account)
    if org is None:
        raise OrganizationsNotInUse(
            f"Account {call.account} is not part of an organization, so IsOrganizationTrail cannot be true"
        )
    if org.management != call.account:
        raise NotOrganizationMasterAccount(
            f"Account {call.account} is not the management account of organization {org.id} (that is "
            f"{org.management}); only the management account can create or update an organization trail"
        )
    if org.feature_set != "ALL":
        raise OrganizationNotInAllFeaturesMode(
            f"Organization {org.id} has feature set {org.feature_set}; organization trails need ALL"
        )
    return {"is_organization_trail": True, "organization_id": org.id}


# -- operations: trails --------------------------------------------------------------------------------------


def create_trail(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    name = trail_name(p)
    if name.startswith("arn:"):
        raise InvalidTrailName(f"CreateTrail takes a trail name, not an ARN: {name[:300]!r}")
    check_trail_name(name)
    if params.string(p, "S3BucketName") is None:
        raise InvalidS3BucketName("S3BucketName is required but was not provided")
    arn = trail_arn(call.region, call.account, name)
    blank = Trail(
        name=name, trail_arn=arn, home_region=call.region, s3_bucket_name="", creation_time=call.now
    )
    trail = configure(call, blank, p)
    raw_tags = params.array(p, "TagsList")
    if raw_tags:
        trail.tags = merge([], parse_tags(raw_tags), arn)

    def check(docs: list[Doc]) -> None:
        check_room([decode(doc) for doc in docs], trail, call.account)

    try:
        call.store.insert_doc(to_doc(trail, call.account), check=check)
    except ConflictError:
        raise TrailAlreadyExists(f"Trail {name} already exists for customer: {call.account}") from None
    call.services.listeners.trail_changed(call.account, trail)
    call.touch(RESOURCE_TYPE, arn)
    return response(trail)


def update_trail(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = require_home(call, trail_name(p))
    updated = configure(call, trail, p)
    check = None
    if updated.is_multi_region_trail and not trail.is_multi_region_trail:
        # Becoming multi-region makes the trail appear in every region, so every region's limit applies;
        # checked inside the write so a concurrent CreateTrail elsewhere cannot slip past.
        def check(others: list[Doc], _: Doc) -> None:
            check_room([decode(doc) for doc in others], updated, call.account)

    configured = {name: getattr(updated, name) for name in _CONFIG_FIELDS}
    was_organization_trail = trail.is_organization_trail
    trail = change(call, trail, lambda current: msgspec.structs.replace(current, **configured), check)
    if trail.is_organization_trail != was_organization_trail:
        # Member accounts start (or stop) being delivered from now on.
        call.services.listeners.coverage_changed(trail)
    return response(trail)


_CONFIG_FIELDS = (
    "s3_bucket_name",
    "s3_key_prefix",
    "sns_topic_name",
    "sns_topic_arn",
    "include_global_service_events",
    "is_multi_region_trail",
    "log_file_validation_enabled",
    "cloud_watch_logs_log_group_arn",
    "cloud_watch_logs_role_arn",
    "kms_key_id",
    "is_organization_trail",
    "organization_id",
    "recursive_logging",
)


def delete_trail(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = require_home(call, trail_name(p))
    # Before the trail goes: delivery keeps a copy to write the last files and the final digest.
    call.services.listeners.logging_stopped(call.account, trail, deleted=True)
    if not call.store.delete_doc(KIND, call.account, trail.trail_arn):
        raise not_found(call, trail.trail_arn)
    call.services.listeners.trail_changed(call.account, trail)
    return {}


def describe_trails(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    names = params.array(p, "trailNameList") or []
    shadows = params.boolean(p, "includeShadowTrails")
    include_shadows = True if shadows is None else shadows
    if not names:
        everything = account_trails(call)
        trails = [t for t in everything if t.home_region == call.region]
        if include_shadows:
            trails += [t for t in everything if t.home_region != call.region and t.is_multi_region_trail]
            trails += [t for t in organization_trails(call) if t.visible_in(call.region)]
        return {"trailList": [trail_object(t) for t in trails]}
    found: dict[str, Trail] = {}
    for i, text in enumerate(names):
        if not isinstance(text, str):
            raise SerializationException(f"trailNameList[{i}] must be a string, got {text!r}")
        trail = find(call, parse_trail_id(text))
        # Unknown names are left out, as CloudTrail does; another region's trail, or an organization trail
        # seen from a member account, needs includeShadowTrails.
        shadow = trail is not None and (
            trail.home_region != call.region or trail.trail_arn.split(":")[4] != call.account
        )
        if trail is None or (shadow and not include_shadows):
            continue
        if trail.trail_arn not in found:
            call.touch(RESOURCE_TYPE, trail.trail_arn)
            found[trail.trail_arn] = trail
    return {"trailList": [trail_object(t) for t in found.values()]}


def get_trail(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    return {"Trail": trail_object(require(call, trail_name(p)))}


def list_trails(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    """Every trail of the account, in all regions, 20 a page, ordered by (home region, name)."""
    scope = f"ListTrails:{call.account}"
    trails = account_trails(call)
    token = params.string(p, "NextToken")
    if token is not None:
        position = call.services.sealer.open(token, scope)
        if not (
            isinstance(position, list) and len(position) == 2 and all(isinstance(x, str) for x in position)
        ):
            raise InvalidNextToken("NextToken is not a token ListTrails issued")
        after = (position[0], position[1])
        trails = [t for t in trails if (t.home_region, t.name) > after]
    page = trails[:PAGE_SIZE]
    result: dict[str, Any] = {
        "Trails": [{"TrailARN": t.trail_arn, "Name": t.name, "HomeRegion": t.home_region} for t in page]
    }
    if len(trails) > PAGE_SIZE:
        result["NextToken"] = call.services.sealer.seal(scope, [page[-1].home_region, page[-1].name])
    return result


def get_trail_status(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = require(call, trail_name(p))
    status: dict[str, Any] = {"IsLogging": trail.is_logging}
    if trail.start_logging_time is not None:
        status["StartLoggingTime"] = trail.start_logging_time
        status["TimeLoggingStarted"] = format_time(trail.start_logging_time)
    if trail.stop_logging_time is not None:
        status["StopLoggingTime"] = trail.stop_logging_time
        status["TimeLoggingStopped"] = format_time(trail.stop_logging_time)
    status.update(call.services.listeners.status(call.account, trail.trail_arn))
    return status


def _now(call: Call) -> float:
    # CloudTrail's timestamps carry milliseconds.
    return round(call.now, 3)


def start_logging(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = require_home(call, trail_name(p))
    now = _now(call)

    started = False

    def start(current: Trail) -> Trail:
        nonlocal started
        if current.is_logging:  # idempotent: logging continues since the first start
            return current
        started = True
        return msgspec.structs.replace(current, is_logging=True, start_logging_time=now)

    trail = change(call, trail, start)
    if started:
        call.services.listeners.logging_started(call.account, trail)
    return {}


def stop_logging(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    trail = require_home(call, trail_name(p))
    now = _now(call)

    stopped = False

    def stop(current: Trail) -> Trail:
        nonlocal stopped
        if not current.is_logging:
            return current
        stopped = True
        return msgspec.structs.replace(current, is_logging=False, stop_logging_time=now)

    change(call, trail, stop)
    if stopped:
        call.services.listeners.logging_stopped(call.account, trail)
    return {}


OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    "CreateTrail": create_trail,
    "UpdateTrail": update_trail,
    "DeleteTrail": delete_trail,
    "DescribeTrails": describe_trails,
    "GetTrail": get_trail,
    "ListTrails": list_trails,
    "GetTrailStatus": get_trail_status,
    "StartLogging": start_logging,
    "StopLogging": stop_logging,
}
