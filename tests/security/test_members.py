"""Every member of every CloudTrail and Organizations operation this server answers, nested members
included, sent with a JSON value of the wrong type (botocore's service models say which type each
member is): a SerializationException, as AWS's JSON protocol answers, before the operation looks at
anything; nothing changed, and every one of those refusals recorded in the caller's history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, ORGANIZATIONS_TARGET_PREFIX
from opentrail.server.operations import JSON_SERVICES
from opentrail.streams.logs.operations import TARGET_PREFIX as LOGS_TARGET_PREFIX
from tests.support.audit import fingerprint
from tests.support.holdings import Holdings
from tests.support.server import Server
from tests.support.signing import sign
from tests.support.wire import JSON_11, Wire

SESSION = botocore.session.get_session()
TARGETS = {
    "cloudtrail": CLOUDTRAIL_TARGET_PREFIX,
    "organizations": ORGANIZATIONS_TARGET_PREFIX,
    "logs": LOGS_TARGET_PREFIX,
}
WRONG: dict[str, list[Any]] = {
    "string": [5, True, ["x"], {"a": "x"}],
    "integer": ["5", 1.5, True],
    "long": ["5", 1.5, True],
    "boolean": ["true", 1],
    "timestamp": [True, ["x"]],
    "list": ["x", {"a": "x"}],
    "structure": ["x", ["x"]],
    "map": ["x", ["x"]],
}
# Members the operation needs besides the model's required ones to reach its own checks (CloudTrail
# asks for a trail or an event data store, the model requires neither).
NEEDED = {
    "PutInsightSelectors": ["TrailName"],
    "GetInsightSelectors": ["TrailName"],
    # CloudWatch Logs' reads name the group by logGroupName or logGroupIdentifier, the model requires neither.
    "DescribeLogStreams": ["logGroupName"],
    "GetLogEvents": ["logGroupName"],
    "FilterLogEvents": ["logGroupName"],
}
TAGS = [{"Key": "k", "Value": "v"}]
DESTINATIONS = [{"Type": "EVENT_DATA_STORE", "Location": "example-store"}]


# Organizations' members need no holdings: the caller is in no organization.
ORGANIZATIONS: dict[str, dict[str, Any]] = {
    "CreateAccount": {
        "Email": "typed@example.com",
        "AccountName": "typed",
        "RoleName": "Admin",
        "IamUserAccessToBilling": "ALLOW",
        "Tags": TAGS,
    },
    "CreateOrganization": {"FeatureSet": "ALL"},
    "DescribeAccount": {"AccountId": "123456789012"},
    "DescribeCreateAccountStatus": {"CreateAccountRequestId": "car-0123456789abcdef"},
    "ListAccounts": {"MaxResults": 5},
    "RemoveAccountFromOrganization": {"AccountId": "123456789012"},
}


# -- CloudWatch Logs: its members need no holdings (every type is checked before a group is looked up).
LOG_GROUP = "typed-group"
NAMED = {"logGroupName": LOG_GROUP}
LOG_READS = {"logGroupIdentifier": LOG_GROUP, "nextToken": "t", "limit": 5, "unmask": False}
TRANSFORMATION = {"metricName": "m", "metricNamespace": "n", "metricValue": "1", "unit": "Count"}


def logs_examples(account: str) -> dict[str, dict[str, Any]]:
    arn = f"arn:aws:logs:us-east-1:{account}:log-group:{LOG_GROUP}"
    return {
        "CreateLogGroup": {
            "logGroupName": "typed-new",
            "kmsKeyId": "k",
            "tags": {"k": "v"},
            "logGroupClass": "STANDARD",
            "deletionProtectionEnabled": False,
        },
        "DeleteLogGroup": NAMED,
        "DescribeLogGroups": {
            "accountIdentifiers": [account],
            "logGroupNamePrefix": "t",
            "logGroupNamePattern": "t",
            "nextToken": "t",
            "limit": 5,
            "includeLinkedAccounts": False,
            "logGroupClass": "STANDARD",
            "logGroupIdentifiers": [LOG_GROUP],
        },
        "CreateLogStream": {**NAMED, "logStreamName": "s"},
        "DeleteLogStream": {**NAMED, "logStreamName": "s"},
        "DescribeLogStreams": {
            **NAMED,
            **LOG_READS,
            "logStreamNamePrefix": "s",
            "orderBy": "LogStreamName",
            "descending": True,
        },
        "PutLogEvents": {
            **NAMED,
            "logStreamName": "s",
            "logEvents": [{"timestamp": 1, "message": "m"}],
            "sequenceToken": "t",
            "entity": {"keyAttributes": {"a": "b", "c": "d"}, "attributes": {"a": "b"}},
        },
        "GetLogEvents": {
            **NAMED,
            **LOG_READS,
            "logStreamName": "s",
            "startTime": 1,
            "endTime": 2,
            "startFromHead": True,
        },
        "FilterLogEvents": {
            **NAMED,
            **LOG_READS,
            "logStreamNames": ["s"],
            "logStreamNamePrefix": "s",
            "startTime": 1,
            "endTime": 2,
            "filterPattern": "ERROR",
            "startFromHead": True,
            "interleaved": True,
        },
        "PutRetentionPolicy": {**NAMED, "retentionInDays": 1},
        "DeleteRetentionPolicy": NAMED,
        "TagResource": {"resourceArn": arn, "tags": {"k": "v"}},
        "UntagResource": {"resourceArn": arn, "tagKeys": ["k"]},
        "ListTagsForResource": {"resourceArn": arn},
        "TagLogGroup": {**NAMED, "tags": {"k": "v"}},
        "UntagLogGroup": {**NAMED, "tags": ["k"]},
        "ListTagsLogGroup": NAMED,
        "PutMetricFilter": {
            **NAMED,
            "filterName": "f",
            "filterPattern": "{ $.a = 1 }",
            "metricTransformations": [TRANSFORMATION],
            "applyOnTransformedLogs": False,
            "fieldSelectionCriteria": "",
            "emitSystemFieldDimensions": ["@aws.region"],
        },
        "DescribeMetricFilters": {
            **NAMED,
            "filterNamePrefix": "f",
            "nextToken": "t",
            "limit": 5,
            "metricName": "m",
            "metricNamespace": "n",
        },
        "DeleteMetricFilter": {**NAMED, "filterName": "f"},
        "TestMetricFilter": {"filterPattern": "ERROR", "logEventMessages": ["m"]},
    }


def selectors(bucket: str) -> dict[str, Any]:
    return {
        "EventSelectors": [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket}/"]}],
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
            }
        ],
        "AdvancedEventSelectors": [
            {"Name": "n", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
        ],
    }


def examples(h: Holdings) -> dict[str, dict[str, Any]]:
    """A well-formed value of each member the wrong types replace (required members make the base)."""
    trail, arn, channel = h.trail, h.trail_arn, h.channel_arn
    window = {"StartTime": 1_700_000_000, "EndTime": 1_700_003_600}
    return {
        "AddTags": {"ResourceId": arn, "TagsList": TAGS},
        "CreateChannel": {"Name": "typed", "Source": "Custom", "Destinations": DESTINATIONS, "Tags": TAGS},
        "CreateTrail": {
            "Name": "typed",
            "S3BucketName": h.bucket,
            "S3KeyPrefix": "p",
            "IncludeGlobalServiceEvents": True,
            "IsMultiRegionTrail": False,
            "EnableLogFileValidation": True,
            "IsOrganizationTrail": False,
            "TagsList": TAGS,
        },
        "DeleteChannel": {"Channel": channel},
        "DeleteTrail": {"Name": trail},
        "DescribeTrails": {"trailNameList": [trail], "includeShadowTrails": True},
        "GetChannel": {"Channel": channel},
        "GetEventSelectors": {"TrailName": trail},
        "GetInsightSelectors": {"TrailName": trail},
        "GetTrail": {"Name": trail},
        "GetTrailStatus": {"Name": trail},
        "ListChannels": {"MaxResults": 5},
        "ListPublicKeys": window,
        "ListTags": {"ResourceIdList": [arn]},
        "ListTrails": {},
        "LookupEvents": {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}],
            "MaxResults": 5,
            **window,
        },
        "PutEventSelectors": {"TrailName": trail, **selectors(h.bucket)},
        "PutInsightSelectors": {
            "TrailName": trail,
            "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}],
        },
        "RemoveTags": {"ResourceId": arn, "TagsList": [{"Key": "k"}]},
        "StartLogging": {"Name": trail},
        "StopLogging": {"Name": trail},
        "UpdateChannel": {"Channel": channel, "Destinations": DESTINATIONS, "Name": "typed-renamed"},
        "UpdateTrail": {
            "Name": trail,
            "S3BucketName": h.bucket,
            "S3KeyPrefix": "p",
            "IncludeGlobalServiceEvents": True,
            "IsMultiRegionTrail": False,
            "EnableLogFileValidation": True,
        },
        **ORGANIZATIONS,
        **logs_examples(h.account),
    }


def wrong_values(
    shape: Shape, example: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """(path, wrong value) for the member at ``path`` and every member inside its example value."""
    if path:
        for value in WRONG.get(shape.type_name, []):
            yield path, value
    if shape.type_name == "structure" and isinstance(example, dict):
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if name in example:
                yield from wrong_values(member, example[name], (*path, name))
            elif not path:
                for value in WRONG.get(member.type_name, []):
                    yield (name,), value
    elif shape.type_name == "list" and isinstance(example, list) and example:
        yield from wrong_values(shape.member, example[0], (*path, 0))  # type: ignore[attr-defined]


def replaced(example: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    copy: Any = json.loads(json.dumps(example))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    result: dict[str, Any] = copy
    return result


def operations() -> list[tuple[str, str]]:
    """The operations served that take input (DescribeOrganization and DeleteOrganization take none)."""
    return [
        (service, op)
        for service, js in JSON_SERVICES.items()
        for op in sorted(js.operations)
        if SESSION.get_service_model(service).operation_model(op).input_shape is not None
    ]


@pytest.mark.parametrize(("service", "operation"), operations())
def test_every_member_of_the_wrong_type_is_a_serialization_exception(
    server: Server, wire: Wire, intruder: Holdings, service: str, operation: str
) -> None:
    model = SESSION.get_service_model(service).operation_model(operation)
    example = examples(intruder).get(operation, {})
    needed = [*model.input_shape.required_members, *NEEDED.get(operation, [])]
    base = {name: example[name] for name in needed}
    cases = list(wrong_values(model.input_shape, example))
    assert cases, f"{operation} has members but no wrong value was made for them"
    before = fingerprint(server)
    wrong, request_ids = [], []
    for path, value in cases:
        params = replaced(
            {**base, **({path[0]: example[path[0]]} if path[0] in example else {})}, path, value
        )
        body = json.dumps(params).encode()
        headers = {"X-Amz-Target": TARGETS[service] + operation, "Content-Type": JSON_11}
        signed = sign(server.endpoint + "/", "POST", headers, body, intruder.creds, service=service)
        answer = wire.send(f"{service}:{operation}", "POST", "/", signed, body)
        got = answer.json().get("__type") if answer.status and answer.status < 500 else answer.text[:200]
        if (answer.status, got) != (400, "SerializationException"):
            wrong.append((path, value, answer.status, got, answer.json().get("message", "")[:120]))
        request_ids.append(answer.headers["x-amzn-requestid"])
    listed = "\n".join(map(repr, wrong))
    assert wrong == [], (
        f"{len(wrong)} of {len(cases)} wrong types were not SerializationExceptions:\n{listed}"
    )
    assert fingerprint(server) == before
    records = wire.recorded(intruder.creds, operation, request_ids)
    assert set(records) == set(request_ids), f"{len(request_ids) - len(records)} refusals are not in history"
    assert {r["errorCode"] for r in records.values()} == {"SerializationException"}
