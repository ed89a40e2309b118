"""The wire form of ``PutEventSelectors`` and ``PutInsightSelectors``, validated with CloudTrail's rules
(``reference/cloudtrail-compat.md`` §2.11, §2.12, §8, §9.1) and turned into the selector model
(``model``) that trails keep and the engine compiles.

Wrong JSON types are ``SerializationException`` (as ``params`` does); every other violation is
``InvalidEventSelectorsException`` / ``InvalidInsightSelectorsException`` naming the selector, the field,
the value and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, cast

import msgspec

from opentrail import params
from opentrail.errors import (
    ApiError,
    InvalidEventSelectors,
    InvalidInsightSelectors,
    SerializationException,
)
from opentrail.selectors.model import (
    OPERATORS,
    READ_WRITE_TYPES,
    AdvancedEventSelector,
    DataResource,
    EventSelection,
    EventSelector,
    FieldSelector,
    InsightSelector,
    ReadWriteType,
)
from opentrail.storage import InvalidBucketName, check_bucket_name

MAX_SELECTORS = 5
MAX_DATA_RESOURCES = 250
MAX_ADVANCED_VALUES = 500
MAX_SELECTOR_NAME = 1000
MAX_FIELD_NAME = 1000
MAX_VALUE_CHARS = 2048

EXCLUDABLE_SOURCES = ("kms.amazonaws.com", "rdsdata.amazonaws.com")
INSIGHT_TYPES = ("ApiCallRateInsight", "ApiErrorRateInsight")
INSIGHT_CATEGORIES = ("Management", "Data")


# -- basic selectors ------------------------------------------------------------------------------------

_PARTITION = r"arn:aws(?:-[a-z]+)*"
_LAMBDA_ARN = re.compile(
    _PARTITION
    + r":lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)
_DYNAMODB_ARN = re.compile(_PARTITION + r":dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}")
_S3_OBJECTS = re.compile(_PARTITION + r":s3:::([^/]+)/(.*)")
_ALL_OF_TYPE = {
    "AWS::S3::Object": re.compile(_PARTITION + r":s3(?::::)?"),
    "AWS::Lambda::Function": re.compile(_PARTITION + r":lambda"),
    "AWS::DynamoDB::Table": re.compile(_PARTITION + r":dynamodb"),
}


def _valid_resource_value(kind: str, value: str) -> bool:
    if kind == "AWS::Lambda::Function":
        return _LAMBDA_ARN.fullmatch(value) is not None
    if kind == "AWS::DynamoDB::Table":
        return _DYNAMODB_ARN.fullmatch(value) is not None
    match = _S3_OBJECTS.fullmatch(value)
    if match is None or len(value) > MAX_VALUE_CHARS:
        return False
    try:
        check_bucket_name(match.group(1))
    except InvalidBucketName:
        return False
    return True


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list):
        raise _type_error(name, "a list of strings", value)
    for item in value:
        if not isinstance(item, str):
            raise _type_error(f"{name}[]", "a string", item)
    return value


def _type_error(name: str, expected: str, value: Any) -> ApiError:
    return SerializationException(f"{name} must be {expected}, got {type(value).__name__} {value!r}")


def _data_resource(raw: Any, where: str) -> tuple[DataResource, int]:
    """A validated data resource and how many values count toward the 250 limit."""
    resource = params.structure(raw, where)
    kind = params.string(resource, "Type", error=InvalidEventSelectors)
    if kind is None:
        raise InvalidEventSelectors(f"{where}.Type is required; expected one of {', '.join(_ALL_OF_TYPE)}")
    if kind not in _ALL_OF_TYPE:
        raise InvalidEventSelectors(
            f"{where}.Type {kind!r} is not supported by basic event selectors; expected one of "
            f"{', '.join(_ALL_OF_TYPE)} (use AdvancedEventSelectors for other resource types)"
        )
    values = _strings(resource.get("Values") or [], f"{where}.Values")
    if not values:
        raise InvalidEventSelectors(f"{where}.Values must list at least one ARN for {kind}")
    counted = 0
    for value in values:
        if _ALL_OF_TYPE[kind].fullmatch(value):
            continue  # "all resources of the type" does not count toward the limit
        if not _valid_resource_value(kind, value):
            # AWS's text (aws/aws-cdk#3450, hashicorp/terraform-provider-aws#4043,
            # aws-samples/aws-security-reference-architecture-examples#335).
            raise InvalidEventSelectors(f"Value {value[:2048]} for DataResources.Values is invalid.")
        counted += 1
    return DataResource(type=kind, values=list(values)), counted


def _basic_selector(raw: Any, where: str) -> tuple[EventSelector, int]:
    selector = params.structure(raw, where)
    given = params.string(selector, "ReadWriteType", error=InvalidEventSelectors)
    rw = "All" if given is None else given  # absent means All; an empty string is no value of the enum
    if rw not in READ_WRITE_TYPES:
        raise InvalidEventSelectors(
            f"{where}.ReadWriteType {rw!r} is not valid; expected one of {', '.join(READ_WRITE_TYPES)}"
        )
    include = params.boolean(selector, "IncludeManagementEvents")
    resources: list[DataResource] = []
    counted = 0
    for i, raw_resource in enumerate(params.array(selector, "DataResources") or []):
        resource, n = _data_resource(raw_resource, f"{where}.DataResources[{i}]")
        resources.append(resource)
        counted += n
    excluded = _strings(
        selector.get("ExcludeManagementEventSources") or [], f"{where}.ExcludeManagementEventSources"
    )
    for source in excluded:
        if source not in EXCLUDABLE_SOURCES:
            raise InvalidEventSelectors(
                f"{where}.ExcludeManagementEventSources contains {source!r}; only "
                f"{' and '.join(EXCLUDABLE_SOURCES)} can be excluded"
            )
    built = EventSelector(
        read_write_type=cast(ReadWriteType, rw),  # checked against READ_WRITE_TYPES above
        include_management_events=True if include is None else include,
        data_resources=resources,
        exclude_management_event_sources=list(excluded),
    )
    return built, counted


def parse_event_selectors(raw: list[Any]) -> EventSelection:
    """Validate ``EventSelectors`` (1-5 selectors, at most 250 data resources in all)."""
    _check_count(raw, "EventSelectors")
    selectors: list[EventSelector] = []
    total = 0
    for i, item in enumerate(raw):
        selector, counted = _basic_selector(item, f"EventSelectors[{i}]")
        selectors.append(selector)
        total += counted
    if total > MAX_DATA_RESOURCES:
        raise InvalidEventSelectors(
            f"EventSelectors name {total} data resources; a trail can have at most {MAX_DATA_RESOURCES} "
            "(the forms that select all resources of a type do not count)"
        )
    return EventSelection(basic=selectors)


def _check_count(raw: list[Any], name: str) -> None:
    if not 1 <= len(raw) <= MAX_SELECTORS:
        raise InvalidEventSelectors(
            f"{name} must contain between 1 and {MAX_SELECTORS} selectors, got {len(raw)}"
        )


# -- advanced selectors ---------------------------------------------------------------------------------

_FIELD_PATTERN = re.compile(r"[\w|.]+")
# Fields a trail's advanced selectors may use, by event category (reference §8.2).
TRAIL_FIELDS: dict[str, tuple[str, ...]] = {
    "Management": ("eventCategory", "eventSource", "readOnly"),
    "Data": (
        "eventCategory",
        "resources.type",
        "eventName",
        "eventSource",
        "eventType",
        "readOnly",
        "resources.ARN",
        "sessionCredentialFromConsole",
        "userIdentity.arn",
    ),
    "NetworkActivity": (
        "eventCategory",
        "eventSource",
        "eventName",
        "errorCode",
        "vpcEndpointId",
        "userIdentity.arn",
    ),
}
_LAKE_ONLY_CATEGORIES = ("Insight", "ConfigurationItem", "ActivityAuditLog")
_EQUALS_ONLY = ("eventCategory", "resources.type", "readOnly")
_BOOLEAN_FIELDS = ("readOnly", "sessionCredentialFromConsole")
_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
_ARN = re.compile(r"arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+")
# The ARN service of the resource types whose ARNs CloudTrail's own examples show (and that basic
# selectors name): a resources.ARN condition naming another service can never match.
_ARN_SERVICES = {
    "AWS::S3::Object": "s3",
    "AWS::Lambda::Function": "lambda",
    "AWS::DynamoDB::Table": "dynamodb",
}


def _field_selector(raw: Any, where: str) -> FieldSelector:
    selector = params.structure(raw, where)
    field = params.string(selector, "Field", error=InvalidEventSelectors)
    if field is None:
        raise InvalidEventSelectors(f"{where}.Field is required")
    if not 1 <= len(field) <= MAX_FIELD_NAME or not _FIELD_PATTERN.fullmatch(field):
        raise InvalidEventSelectors(f"{where}.Field {field[:80]!r} is not a valid field name")
    operators: dict[str, list[str]] = {}
    for op in OPERATORS:
        if op not in selector or selector[op] is None:
            continue
        values = _strings(selector[op], f"{where}.{op}")
        if not values:
            raise InvalidEventSelectors(f"{where}.{op} for field {field} must list at least one value")
        for value in values:
            if not 1 <= len(value) <= MAX_VALUE_CHARS:
                raise InvalidEventSelectors(
                    f"{where}.{op} values for field {field} must be 1-{MAX_VALUE_CHARS} characters, "
                    f"got {len(value)}"
                )
        operators[op] = list(values)
    if not operators:
        raise InvalidEventSelectors(
            f"{where} (field {field}) needs at least one operator: {', '.join(OPERATORS)}"
        )
    return msgspec.convert({"Field": field, **operators}, FieldSelector)


def _only_equals(selector: FieldSelector, where: str, *, single: bool) -> list[str]:
    ops = selector.operators()
    if set(ops) != {"Equals"}:
        raise InvalidEventSelectors(
            f"{where}: field {selector.field} supports only the Equals operator, got {', '.join(ops)}"
        )
    values = ops["Equals"]
    if single and len(values) != 1:
        raise InvalidEventSelectors(
            f"{where}: field {selector.field} takes exactly one Equals value, got {len(values)}"
        )
    return values


def _check_category(fields: dict[str, FieldSelector], where: str) -> str:
    category_field = fields.get("eventCategory")
    if category_field is None:
        raise InvalidEventSelectors(
            f"{where} must include the eventCategory field (Equals Management, Data or NetworkActivity)"
        )
    category = _only_equals(category_field, where, single=True)[0]
    if category in _LAKE_ONLY_CATEGORIES:
        raise InvalidEventSelectors(
            f"{where}: eventCategory {category} is only valid for event data stores, not trails"
        )
    if category not in TRAIL_FIELDS:
        raise InvalidEventSelectors(
            f"{where}: eventCategory {category!r} is not valid; expected one of {', '.join(TRAIL_FIELDS)}"
        )
    for name in fields:
        if name not in TRAIL_FIELDS[category]:
            raise InvalidEventSelectors(
                f"{where}: field {name} is not valid for eventCategory {category} on a trail; valid fields "
                f"are {', '.join(TRAIL_FIELDS[category])}"
            )
    return category


def _check_fields(fields: dict[str, FieldSelector], category: str, where: str) -> None:
    for name in _EQUALS_ONLY:
        if name in fields:
            _only_equals(fields[name], where, single=True)
    for name in _BOOLEAN_FIELDS:
        if name not in fields:
            continue
        for op, values in fields[name].operators().items():
            if op not in ("Equals", "NotEquals"):
                raise InvalidEventSelectors(
                    f"{where}: field {name} supports only the Equals and NotEquals operators, got {op}"
                )
            for value in values:
                if value not in ("true", "false"):
                    raise InvalidEventSelectors(
                        f"{where}: field {name} takes 'true' or 'false', got {value!r} in {op}"
                    )
    if category == "Data":
        resource_type = fields.get("resources.type")
        if resource_type is None:
            raise InvalidEventSelectors(
                f"{where}: data event selectors must include the resources.type field "
                "(Equals one resource type)"
            )
        kind = (resource_type.equals or [""])[0]
        if not _RESOURCE_TYPE.fullmatch(kind):
            raise InvalidEventSelectors(
                f"{where}: resources.type {kind!r} is not a resource type like AWS::S3::Object"
            )
        arn = fields.get("resources.ARN")
        if arn is not None:
            _check_resource_arns(arn, kind, where)
    elif category == "Management" and "eventSource" in fields:
        source = fields["eventSource"]
        ops = source.operators()
        if set(ops) != {"NotEquals"} or any(v not in EXCLUDABLE_SOURCES for v in ops["NotEquals"]):
            raise InvalidEventSelectors(
                f"{where}: for management events, eventSource can only be NotEquals "
                f"{' or '.join(EXCLUDABLE_SOURCES)}"
            )
    elif category == "NetworkActivity":
        if "eventSource" not in fields:
            raise InvalidEventSelectors(
                f"{where}: network activity selectors must include the eventSource field"
            )
        _only_equals(fields["eventSource"], where, single=False)


def _check_resource_arns(arn: FieldSelector, kind: str, where: str) -> None:
    for value in (arn.equals or []) + (arn.not_equals or []):
        if not _ARN.fullmatch(value):
            raise InvalidEventSelectors(
                f"{where}: resources.ARN {value!r} with Equals or NotEquals must be a full ARN; use "
                "StartsWith for a prefix such as arn:aws:s3:::bucket/"
            )
    service = _ARN_SERVICES.get(kind)
    if service is None:
        return
    for op, values in arn.operators().items():
        for value in values:
            # A prefix too short to reach the service part cannot be checked; a longer one must agree.
            parts = value.split(":")
            if len(parts) > 2 and parts[0] == "arn" and parts[2] != service:
                raise InvalidEventSelectors(
                    f"{where}: resources.ARN {op} value {value!r} is not an ARN of resources.type {kind}; "
                    f"expected arn:<partition>:{service}:..."
                )


def _advanced_selector(raw: Any, where: str) -> AdvancedEventSelector:
    selector = params.structure(raw, where)
    name = params.string(selector, "Name", max_len=MAX_SELECTOR_NAME, error=InvalidEventSelectors)
    raw_fields = params.array(selector, "FieldSelectors") or []
    if not raw_fields:
        raise InvalidEventSelectors(f"{where}.FieldSelectors must contain at least one field selector")
    fields: dict[str, FieldSelector] = {}
    ordered: list[FieldSelector] = []
    for i, item in enumerate(raw_fields):
        field = _field_selector(item, f"{where}.FieldSelectors[{i}]")
        if field.field in fields:
            raise InvalidEventSelectors(f"{where}: field {field.field} appears more than once")
        fields[field.field] = field
        ordered.append(field)
    category = _check_category(fields, where)
    _check_fields(fields, category, where)
    return AdvancedEventSelector(field_selectors=ordered, name=name)


def parse_advanced_event_selectors(raw: list[Any]) -> EventSelection:
    """Validate ``AdvancedEventSelectors`` (1-5 selectors, at most 500 values in all conditions)."""
    _check_count(raw, "AdvancedEventSelectors")
    selectors = [_advanced_selector(item, f"AdvancedEventSelectors[{i}]") for i, item in enumerate(raw)]
    total = sum(len(v) for s in selectors for f in s.field_selectors for v in f.operators().values())
    if total > MAX_ADVANCED_VALUES:
        raise InvalidEventSelectors(
            f"AdvancedEventSelectors use {total} values in their conditions; a trail can have at most "
            f"{MAX_ADVANCED_VALUES}"
        )
    return EventSelection(advanced=selectors)


# -- Insights selectors -----------------------------------------------------------------------------------


def parse_insight_selectors(raw: list[Any]) -> list[InsightSelector]:
    """Validate ``InsightSelectors``; an empty list turns Insights off."""
    selectors: list[InsightSelector] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"InsightSelectors[{i}]"
        selector = params.structure(item, where)
        kind = params.string(selector, "InsightType", error=InvalidInsightSelectors)
        if kind not in INSIGHT_TYPES:
            raise InvalidInsightSelectors(
                f"{where}.InsightType {kind!r} is not valid; expected {' or '.join(INSIGHT_TYPES)}"
            )
        if kind in seen:
            raise InvalidInsightSelectors(f"{where}.InsightType {kind} is given more than once")
        seen.add(kind)
        categories = selector.get("EventCategories")
        if categories is not None:
            categories = _strings(categories, f"{where}.EventCategories")
            bad = [c for c in categories if c not in INSIGHT_CATEGORIES]
            if bad or not categories or len(set(categories)) != len(categories):
                raise InvalidInsightSelectors(
                    f"{where}.EventCategories {categories!r} is not valid; expected distinct values from "
                    f"{' and '.join(INSIGHT_CATEGORIES)}"
                )
        selectors.append(InsightSelector(insight_type=kind, event_categories=categories))
    return selectors


def check_insight_preconditions(
    selectors: Iterable[InsightSelector], selection: EventSelection, trail: str
) -> None:
    """CloudTrail's rule: Insights analyse only events the trail logs (reference §2.12, §9.1)."""
    for selector in selectors:
        for category in selector.categories:
            if category == "Data":
                if not selection.logs_data():
                    raise InvalidInsightSelectors(
                        f"{selector.insight_type} on Data events needs trail {trail} to log read or write "
                        "data events; add data event selectors first"
                    )
            elif selector.insight_type == "ApiCallRateInsight":
                if not selection.logs_management(writes=True):
                    raise InvalidInsightSelectors(
                        f"ApiCallRateInsight needs trail {trail} to log write management events; its event "
                        "selectors log none"
                    )
            elif not selection.logs_management(writes=False):
                raise InvalidInsightSelectors(
                    f"ApiErrorRateInsight needs trail {trail} to log read or write management events; its "
                    "event selectors log none"
                )
