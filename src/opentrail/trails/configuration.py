"""CreateTrail's and UpdateTrail's configuration members, checked in CloudTrail's order.

CloudTrail checks what a request says before it looks anything up: first every member's form (lengths,
patterns, the KMS key id and CloudWatch Logs ARN forms, and combinations such as a multi-region trail
without global service events), then what must exist (the caller's organization, the bucket, the SNS
topic). So a request that is both malformed and names a missing bucket is answered for its form, never
with S3BucketDoesNotExistException (issue 13). ``parse`` does the first half and touches nothing but the
request; ``apply`` does the second, on the trail the request changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from opentrail import params
from opentrail.context import Call
from opentrail.errors import (
    InvalidCloudWatchLogsRoleArn,
    InvalidParameterCombination,
    NotOrganizationMasterAccount,
    OrganizationNotInAllFeaturesMode,
    OrganizationsNotInUse,
)
from opentrail.organizations import model as organizations
from opentrail.trails import destinations
from opentrail.trails.model import Trail

_FLAGS = (
    ("IncludeGlobalServiceEvents", "include_global_service_events"),
    ("IsMultiRegionTrail", "is_multi_region_trail"),
    ("EnableLogFileValidation", "log_file_validation_enabled"),
    ("RecursiveLogging", "recursive_logging"),
)

# AWS's text (moto's CreateTrail answers it before looking at the bucket; seen from AWS itself in
# cloudconformity/auto-remediate#3): a multi-region trail must include global service events.
MULTI_REGION_WITHOUT_GLOBAL = "Multi-Region trail must include global service events."
# AWS's text when a log group comes without a role (hashicorp/terraform-provider-aws#148, pulumi/docs#5117).
LOG_GROUP_WITHOUT_ROLE = "You must specify a role ARN as well as a log group."


@dataclass(frozen=True)
class ConfigRequest:
    """The configuration a request asked for, every member checked in form: ``changes`` are the ``Trail``
    fields to set; ``organization`` is IsOrganizationTrail as given (true needs the organization)."""

    changes: dict[str, Any]
    organization: bool | None


def parse(p: dict[str, Any], region: str, account: str) -> ConfigRequest:
    """The members of ``p`` checked in form only (the trail's home ``region`` and ``account`` complete a
    topic name or key id into an ARN); nothing is looked up. An absent member is left out of ``changes``,
    an empty string clears an optional one."""
    changes: dict[str, Any] = {}
    bucket = params.string(p, "S3BucketName")
    if bucket is not None:
        destinations.check_bucket_name(bucket)
        changes["s3_bucket_name"] = bucket
    prefix = params.string(p, "S3KeyPrefix")
    if prefix is not None:
        destinations.check_prefix(prefix)
        changes["s3_key_prefix"] = prefix or None
    topic = params.string(p, "SnsTopicName")
    if topic is not None:
        name_arn = destinations.sns_topic(topic, region, account) if topic else (None, None)
        changes["sns_topic_name"], changes["sns_topic_arn"] = name_arn
    key = params.string(p, "KmsKeyId")
    if key is not None:
        changes["kms_key_id"] = destinations.kms_key(key, region, account) if key else None
    changes.update(_cloud_watch_changes(p))
    for member, attr in _FLAGS:
        value = params.boolean(p, member)
        if value is not None:
            changes[attr] = value
    organization = params.boolean(p, "IsOrganizationTrail")
    if organization is False:
        changes.update(is_organization_trail=False, organization_id=None)
    # What the request alone decides; UpdateTrail's other half is checked on the trail in ``apply``.
    if changes.get("is_multi_region_trail") is True and changes.get("include_global_service_events") is False:
        raise InvalidParameterCombination(MULTI_REGION_WITHOUT_GLOBAL)
    return ConfigRequest(changes, organization)


def _cloud_watch_changes(p: dict[str, Any]) -> dict[str, Any]:
    group = params.string(p, "CloudWatchLogsLogGroupArn")
    role = params.string(p, "CloudWatchLogsRoleArn")
    if group and not role:
        raise InvalidCloudWatchLogsRoleArn(LOG_GROUP_WITHOUT_ROLE)
    if role and not group:
        # AWS's text for a role without a log group is not known; ours names the pair.
        raise InvalidParameterCombination(
            "CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn must be given together"
        )
    if group and role:
        destinations.check_log_group_arn(group)
        destinations.check_role_arn(role)
        return {"cloud_watch_logs_log_group_arn": group, "cloud_watch_logs_role_arn": role}
    if group is not None or role is not None:  # an empty string turns CloudWatch Logs delivery off
        return {"cloud_watch_logs_log_group_arn": None, "cloud_watch_logs_role_arn": None}
    return {}


def apply(call: Call, trail: Trail, request: ConfigRequest) -> Trail:
    """``trail`` with ``request`` applied: the combination its flags make is checked first, then what must
    be looked up (the organization, the bucket, the topic, the log group), in that order."""
    new = msgspec.structs.replace(trail, **request.changes)
    if new.is_multi_region_trail and not new.include_global_service_events:
        raise InvalidParameterCombination(MULTI_REGION_WITHOUT_GLOBAL)
    if request.organization:
        new = msgspec.structs.replace(new, **_organization(call))
    if "s3_bucket_name" in request.changes:
        destinations.check_bucket(call, new.s3_bucket_name)
    if request.changes.get("sns_topic_arn") is not None:
        # The topic's own ARN: a webhook topic's, or the SNS topic's a name or ARN resolves to.
        resolved = destinations.check_topic(call, request.changes["sns_topic_arn"], new.trail_arn)
        new = msgspec.structs.replace(new, sns_topic_arn=resolved)
    if request.changes.get("cloud_watch_logs_log_group_arn"):
        destinations.check_log_group(call, request.changes["cloud_watch_logs_log_group_arn"])
    return new


def _organization(call: Call) -> dict[str, Any]:
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
