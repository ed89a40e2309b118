"""The trail model: a stored trail, its wire shapes, and its document in the store.

A trail is a document of kind ``trail`` keyed by its ARN, stored in its home region; its body is the
``Trail`` struct below (configuration under CloudTrail's member names, plus selectors, logging state and
tags). Everything that needs a trail imports this module; it imports none of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from opentrail.selectors.model import DEFAULT_SELECTION, EventSelection, InsightSelector
from opentrail.store import Doc

KIND = "trail"


RESOURCE_TYPE = "AWS::CloudTrail::Trail"


class Tag(msgspec.Struct, frozen=True, rename="pascal", omit_defaults=True):
    """A resource tag (trails and channels), as CloudTrail's wire form names its members."""

    key: str
    value: str | None = None


class Trail(msgspec.Struct, kw_only=True, rename="pascal"):
    """A stored trail. Configuration fields carry CloudTrail's member names on the wire and in the store."""

    name: str
    trail_arn: str = msgspec.field(name="TrailARN")
    home_region: str
    s3_bucket_name: str
    s3_key_prefix: str | None = None
    sns_topic_name: str | None = None
    sns_topic_arn: str | None = msgspec.field(default=None, name="SnsTopicARN")
    include_global_service_events: bool = True
    is_multi_region_trail: bool = False
    log_file_validation_enabled: bool = False
    cloud_watch_logs_log_group_arn: str | None = None
    cloud_watch_logs_role_arn: str | None = None
    kms_key_id: str | None = None
    is_organization_trail: bool = False
    # The organization whose id an organization trail's keys carry; not a wire member.
    organization_id: str | None = None
    # A newer model member; kept only when a caller sets it, so responses otherwise keep §2.2's members.
    recursive_logging: bool | None = None
    event_selection: EventSelection = DEFAULT_SELECTION
    has_custom_event_selectors: bool = False
    insight_selectors: list[InsightSelector] = msgspec.field(default_factory=list)
    is_logging: bool = False
    start_logging_time: float | None = None
    stop_logging_time: float | None = None
    tags: list[Tag] = msgspec.field(default_factory=list)
    creation_time: float = 0.0

    def visible_in(self, region: str) -> bool:
        """Whether ``region`` sees this trail (its home, or anywhere for a multi-region trail)."""
        return self.home_region == region or self.is_multi_region_trail


# Members of CreateTrail/UpdateTrail responses, and of the Trail object (DescribeTrails, GetTrail).
_RESPONSE_MEMBERS = (
    "Name",
    "S3BucketName",
    "S3KeyPrefix",
    "SnsTopicName",
    "SnsTopicARN",
    "IncludeGlobalServiceEvents",
    "IsMultiRegionTrail",
    "TrailARN",
    "LogFileValidationEnabled",
    "CloudWatchLogsLogGroupArn",
    "CloudWatchLogsRoleArn",
    "KmsKeyId",
    "IsOrganizationTrail",
    "RecursiveLogging",
)


_TRAIL_MEMBERS = (
    *_RESPONSE_MEMBERS[:7],
    "HomeRegion",
    *_RESPONSE_MEMBERS[7:12],
    "HasCustomEventSelectors",
    "HasInsightSelectors",
    *_RESPONSE_MEMBERS[12:],
)


def _members(trail: Trail, names: Iterable[str]) -> dict[str, Any]:
    wire = msgspec.to_builtins(trail)
    wire["HasInsightSelectors"] = bool(trail.insight_selectors)
    return {name: wire[name] for name in names if wire.get(name) is not None}


def response(trail: Trail) -> dict[str, Any]:
    """CreateTrail / UpdateTrail: the configuration, without HomeRegion or the Has* flags."""
    return _members(trail, _RESPONSE_MEMBERS)


def trail_object(trail: Trail) -> dict[str, Any]:
    """The ``Trail`` structure of DescribeTrails and GetTrail."""
    return _members(trail, _TRAIL_MEMBERS)


def decode(doc: Doc) -> Trail:
    return msgspec.convert(doc.body, Trail)


def to_doc(trail: Trail, account: str) -> Doc:
    return Doc(KIND, account, trail.home_region, trail.name, trail.trail_arn, msgspec.to_builtins(trail))
