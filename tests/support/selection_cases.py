"""The selector table: (selectors, events, which of them are selected), shared by the engine tests
(``tests/unit/selectors/test_engine.py``) and the end-to-end ones through the real server
(``tests/e2e/test_selection_delivery.py``).

Every advanced-selector field and every operator appears; expectations are written by hand from
CloudTrail's rules (reference §8), never computed by the code under test.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from opentrail.selectors.parsing import parse_advanced_event_selectors, parse_event_selectors
from opentrail.trails.model import Trail

ACCOUNT = "111122223333"
OBJECT_A = "arn:aws:s3:::bucket-a/logs/app.txt"
OBJECT_B = "arn:aws:s3:::bucket-b/logs/app.csv"
HELLO = "arn:aws:lambda:us-east-1:111122223333:function:helloworld"
HELLO2 = "arn:aws:lambda:us-east-1:111122223333:function:helloworld2"
TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
ALICE = "arn:aws:iam::111122223333:user/alice"
BOB_ROLE = "arn:aws:sts::111122223333:assumed-role/Admin/bob"


def _base(category: str | None, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "accountId": ACCOUNT, "arn": ALICE, "userName": "alice"},
        "eventTime": "2026-01-02T03:04:05Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1",
        "requestID": "req",
        "eventID": "id",
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if category is not None:
        record["eventCategory"] = category
    record.update(fields)
    return {k: v for k, v in record.items() if v is not None}


def s3_object(arn: str = OBJECT_A, **fields: Any) -> dict[str, Any]:
    """An S3 data event on one object (CloudTrail lists the object and its bucket)."""
    bucket = arn.split(":::")[1].split("/")[0]
    resources = [
        {"type": "AWS::S3::Object", "ARN": arn},
        {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
    ]
    return _base("Data", managementEvent=False, resources=resources, **fields)


def lambda_invoke(arn: str = HELLO, **fields: Any) -> dict[str, Any]:
    resources = [{"accountId": ACCOUNT, "type": "AWS::Lambda::Function", "ARN": arn}]
    defaults = {"eventSource": "lambda.amazonaws.com", "eventName": "Invoke", "readOnly": False}
    return _base("Data", managementEvent=False, resources=resources, **{**defaults, **fields})


def dynamodb_item(arn: str = TABLE, **fields: Any) -> dict[str, Any]:
    resources = [{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table", "ARN": arn}]
    defaults = {"eventSource": "dynamodb.amazonaws.com", "eventName": "PutItem", "readOnly": False}
    return _base("Data", managementEvent=False, resources=resources, **{**defaults, **fields})


def management(**fields: Any) -> dict[str, Any]:
    defaults = {"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "readOnly": False}
    return _base("Management", managementEvent=True, **{**defaults, **fields})


def network(**fields: Any) -> dict[str, Any]:
    defaults = {
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "eventType": "AwsVpceEvent",
        "readOnly": None,
        "vpcEndpointId": "vpce-0abc123",
        "vpcEndpointAccountId": ACCOUNT,
    }
    return _base("NetworkActivity", **{**defaults, **fields})


def legacy_data(arn: str = OBJECT_A) -> dict[str, Any]:
    """An S3 data event before eventVersion 1.07: no eventCategory, ``managementEvent: false``."""
    record = s3_object(arn)
    del record["eventCategory"]
    record["eventVersion"] = "1.06"
    return record


@dataclass
class Case:
    name: str
    # Advanced selectors (``advanced=True``) or basic ones, in their wire form.
    selectors: list[dict[str, Any]]
    events: list[tuple[dict[str, Any], bool]]
    advanced: bool = True

    def wire(self) -> dict[str, Any]:
        return {"AdvancedEventSelectors" if self.advanced else "EventSelectors": self.selectors}

    def records(self, region: str) -> list[tuple[dict[str, Any], bool]]:
        """The case's events as unique records in ``region`` (new eventIDs, so cases never collide)."""
        out = []
        for record, expected in self.events:
            copied = copy.deepcopy(record)
            copied["eventID"] = str(uuid.uuid4())
            copied["requestID"] = str(uuid.uuid4())
            copied["awsRegion"] = region
            out.append((copied, expected))
        return out


def eq(field: str, *values: str) -> dict[str, Any]:
    return {"Field": field, "Equals": list(values)}


def op(field: str, operator: str, *values: str) -> dict[str, Any]:
    return {"Field": field, operator: list(values)}


def sel(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"FieldSelectors": list(fields)}


MGMT = eq("eventCategory", "Management")
DATA = eq("eventCategory", "Data")
NET = eq("eventCategory", "NetworkActivity")
S3 = eq("resources.type", "AWS::S3::Object")
LAMBDA = eq("resources.type", "AWS::Lambda::Function")


def _field_cases(
    field: str, kind: str, hit: str, other: str, prefix: str, suffix: str, *, can_be_missing: bool
) -> list[Case]:
    """One case per operator on ``field`` (a data event's, or a network activity event's): an event with
    ``hit``, one with ``other``, and (when ingest accepts a record without it) one without the field."""
    build = network if kind == "net" else s3_object
    head = [NET, eq("eventSource", "s3.amazonaws.com")] if kind == "net" else [DATA, S3]
    on, off = build(**{field: hit}), build(**{field: other})
    missing = [build(**{field: None})] if can_be_missing else []
    cases = []
    for operator, value in [
        ("Equals", hit),
        ("StartsWith", prefix),
        ("EndsWith", suffix),
        ("NotEquals", hit),
        ("NotStartsWith", prefix),
        ("NotEndsWith", suffix),
    ]:
        positive = not operator.startswith("Not")
        events = [(on, positive), (off, not positive), *[(m, not positive) for m in missing]]
        cases.append(Case(f"{field} {operator}", [sel(*head, op(field, operator, value))], events))
    return cases


CASES: list[Case] = [
    # -- eventCategory ------------------------------------------------------------------------------
    Case(
        "eventCategory Management",
        [sel(MGMT)],
        [(management(), True), (management(readOnly=True), True), (s3_object(), False), (network(), False)],
    ),
    Case(
        "eventCategory Data with resources.type",
        [sel(DATA, S3)],
        [(s3_object(), True), (lambda_invoke(), False), (management(), False), (legacy_data(), True)],
    ),
    Case(
        "eventCategory NetworkActivity",
        [sel(NET, eq("eventSource", "s3.amazonaws.com", "kms.amazonaws.com"))],
        [
            (network(), True),
            (network(eventSource="kms.amazonaws.com"), True),
            (network(eventSource="ec2.amazonaws.com"), False),
            (s3_object(), False),
        ],
    ),
    # -- readOnly -----------------------------------------------------------------------------------
    Case(
        "readOnly true on management",
        [sel(MGMT, eq("readOnly", "true"))],
        [(management(readOnly=True), True), (management(), False), (management(readOnly=None), False)],
    ),
    Case(
        "readOnly false on data",
        [sel(DATA, S3, eq("readOnly", "false"))],
        [(s3_object(eventName="PutObject", readOnly=False), True), (s3_object(), False)],
    ),
    # -- eventSource --------------------------------------------------------------------------------
    Case(
        "eventSource NotEquals on management",
        [sel(MGMT, op("eventSource", "NotEquals", "kms.amazonaws.com", "rdsdata.amazonaws.com"))],
        [
            (management(), True),
            (management(eventSource="kms.amazonaws.com", eventName="Decrypt"), False),
            (management(eventSource="rdsdata.amazonaws.com"), False),
        ],
    ),
    *[
        Case(
            f"eventSource {operator} on data",
            [sel(DATA, S3, op("eventSource", operator, value))],
            [(s3_object(), selected), (s3_object(eventSource="s3-outposts.amazonaws.com"), not selected)],
        )
        for operator, value, selected in [
            ("Equals", "s3.amazonaws.com", True),
            ("StartsWith", "s3.", True),
            ("EndsWith", "3.amazonaws.com", True),
            ("NotEquals", "s3.amazonaws.com", False),
            ("NotStartsWith", "s3.", False),
            ("NotEndsWith", "3.amazonaws.com", False),
        ]
    ],
    # -- eventName, eventType, userIdentity.arn (data) ----------------------------------------------
    # eventName is required of every record ingest accepts, so it is never missing.
    *_field_cases("eventName", "data", "GetObject", "HeadBucket", "Get", "tObject", can_be_missing=False),
    Case(
        "eventName positive and negative together",
        [sel(DATA, S3, {"Field": "eventName", "StartsWith": ["Get"], "NotEquals": ["GetObjectAcl"]})],
        [
            (s3_object(), True),
            (s3_object(eventName="GetObjectAcl"), False),
            (s3_object(eventName="PutObject"), False),
        ],
    ),
    Case(
        "eventName values OR-ed",
        [sel(DATA, S3, eq("eventName", "GetObject", "PutObject"))],
        [
            (s3_object(), True),
            (s3_object(eventName="PutObject"), True),
            (s3_object(eventName="HeadObject"), False),
        ],
    ),
    Case(
        "eventName negative values: any match excludes",
        [sel(DATA, S3, op("eventName", "NotEquals", "GetObject", "PutObject"))],
        [
            (s3_object(), False),
            (s3_object(eventName="PutObject"), False),
            (s3_object(eventName="HeadObject"), True),
        ],
    ),
    *[
        Case(
            f"eventType {operator}",
            [sel(DATA, S3, op("eventType", operator, value))],
            [(s3_object(), selected), (s3_object(eventType="AwsServiceEvent"), not selected)],
        )
        for operator, value, selected in [
            ("Equals", "AwsApiCall", True),
            ("StartsWith", "AwsApi", True),
            ("EndsWith", "ApiCall", True),
            ("NotEquals", "AwsApiCall", False),
            ("NotStartsWith", "AwsApi", False),
            ("NotEndsWith", "ApiCall", False),
        ]
    ],
    *[
        Case(
            f"userIdentity.arn {operator}",
            [sel(DATA, S3, op("userIdentity.arn", operator, value))],
            [
                (s3_object(), selected),
                (s3_object(userIdentity={"type": "AssumedRole", "arn": BOB_ROLE}), not selected),
                (
                    s3_object(userIdentity={"type": "AWSService", "invokedBy": "s3.amazonaws.com"}),
                    not positive,
                ),
            ],
        )
        for operator, value, selected, positive in [
            ("Equals", ALICE, True, True),
            ("StartsWith", "arn:aws:iam::", True, True),
            ("EndsWith", "user/alice", True, True),
            ("NotEquals", ALICE, False, False),
            ("NotStartsWith", "arn:aws:iam::", False, False),
            ("NotEndsWith", "user/alice", False, False),
        ]
    ],
    # -- sessionCredentialFromConsole ---------------------------------------------------------------
    Case(
        "sessionCredentialFromConsole Equals true",
        [sel(DATA, S3, eq("sessionCredentialFromConsole", "true"))],
        [(s3_object(sessionCredentialFromConsole="true"), True), (s3_object(), False)],
    ),
    Case(
        "sessionCredentialFromConsole NotEquals true",
        [sel(DATA, S3, op("sessionCredentialFromConsole", "NotEquals", "true"))],
        [(s3_object(sessionCredentialFromConsole="true"), False), (s3_object(), True)],
    ),
    # -- resources.ARN, and resources.type scoping it ------------------------------------------------
    *[
        Case(
            f"resources.ARN {operator}",
            [sel(DATA, S3, op("resources.ARN", operator, value))],
            [(s3_object(), selected), (s3_object(OBJECT_B), not selected)],
        )
        for operator, value, selected in [
            ("Equals", OBJECT_A, True),
            ("StartsWith", "arn:aws:s3:::bucket-a/", True),
            ("EndsWith", ".txt", True),
            ("NotEquals", OBJECT_A, False),
            ("NotStartsWith", "arn:aws:s3:::bucket-a/", False),
            ("NotEndsWith", ".txt", False),
        ]
    ],
    Case(
        "resources.ARN applies to resources of the selected type only",
        # The bucket resource's ARN starts with arn:aws:s3:::bucket-b, but it is not an object.
        [sel(DATA, S3, op("resources.ARN", "StartsWith", "arn:aws:s3:::bucket-b"))],
        [(s3_object(OBJECT_A), False), (s3_object(OBJECT_B), True)],
    ),
    Case(
        "a Lambda function ARN is matched exactly",
        [sel(DATA, LAMBDA, eq("resources.ARN", HELLO))],
        [(lambda_invoke(HELLO), True), (lambda_invoke(HELLO2), False), (s3_object(), False)],
    ),
    Case(
        "a data event without resources fails resources.type",
        [sel(DATA, S3)],
        [(_base("Data", managementEvent=False), False)],
    ),
    # -- network activity fields --------------------------------------------------------------------
    Case(
        "errorCode Equals",
        [sel(NET, eq("eventSource", "s3.amazonaws.com"), eq("errorCode", "VpceAccessDenied"))],
        [(network(errorCode="VpceAccessDenied"), True), (network(), False)],
    ),
    Case(
        "errorCode NotEquals",
        [sel(NET, eq("eventSource", "s3.amazonaws.com"), op("errorCode", "NotEquals", "VpceAccessDenied"))],
        [(network(errorCode="VpceAccessDenied"), False), (network(), True)],
    ),
    *_field_cases(
        "vpcEndpointId", "net", "vpce-0abc123", "vpce-9fff000", "vpce-0a", "c123", can_be_missing=True
    ),
    Case(
        "userIdentity.arn on network activity",
        [
            sel(
                NET,
                eq("eventSource", "s3.amazonaws.com"),
                op("userIdentity.arn", "StartsWith", "arn:aws:sts::"),
            )
        ],
        [(network(userIdentity={"type": "AssumedRole", "arn": BOB_ROLE}), True), (network(), False)],
    ),
    # -- combining selectors and fields -------------------------------------------------------------
    Case(
        "fields of one selector are AND-ed",
        [
            sel(
                DATA,
                S3,
                eq("eventName", "GetObject"),
                eq("readOnly", "true"),
                op("resources.ARN", "EndsWith", ".txt"),
            )
        ],
        [
            (s3_object(), True),
            (s3_object(OBJECT_B), False),
            (s3_object(eventName="PutObject", readOnly=False), False),
        ],
    ),
    Case(
        "selectors are OR-ed",
        [
            sel(MGMT, eq("readOnly", "false")),
            sel(DATA, LAMBDA),
            sel(NET, eq("eventSource", "s3.amazonaws.com")),
        ],
        [
            (management(), True),
            (management(readOnly=True), False),
            (lambda_invoke(), True),
            (s3_object(), False),
            (network(), True),
        ],
    ),
    # -- basic selectors ----------------------------------------------------------------------------
    Case(
        "basic default: all management events, no data",
        [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
        [(management(), True), (management(readOnly=True), True), (s3_object(), False), (network(), False)],
        advanced=False,
    ),
    Case(
        "basic ReadOnly without kms",
        [{"ReadWriteType": "ReadOnly", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}],
        [
            (management(readOnly=True), True),
            (management(), False),
            (management(eventSource="kms.amazonaws.com", eventName="Decrypt", readOnly=True), False),
        ],
        advanced=False,
    ),
    Case(
        "basic S3 bucket and prefix",
        [
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket-b/logs/"]}],
            }
        ],
        [
            (s3_object(OBJECT_B, eventName="PutObject", readOnly=False), True),
            (s3_object(OBJECT_B), False),  # a read
            (s3_object(OBJECT_A, eventName="PutObject", readOnly=False), False),
            (management(), False),
        ],
        advanced=False,
    ),
    Case(
        "basic Lambda function exact, DynamoDB all tables",
        [
            {
                "IncludeManagementEvents": False,
                "DataResources": [
                    {"Type": "AWS::Lambda::Function", "Values": [HELLO]},
                    {"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb"]},
                ],
            }
        ],
        [
            (lambda_invoke(HELLO), True),
            (lambda_invoke(HELLO2), False),
            (dynamodb_item(), True),
            (s3_object(), False),
        ],
        advanced=False,
    ),
    Case(
        "basic all S3 objects",
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}],
        [(s3_object(), True), (s3_object(OBJECT_B), True), (legacy_data(), True), (management(), True)],
        advanced=False,
    ),
]


REGION = "us-east-1"


def trail_with(wire: dict[str, Any], **given_members: Any) -> Trail:
    members = dict(given_members)
    if "AdvancedEventSelectors" in wire:
        chosen = parse_advanced_event_selectors(wire["AdvancedEventSelectors"])
    else:
        chosen = parse_event_selectors(wire["EventSelectors"])
    region = members.pop("home_region", REGION)
    return Trail(
        name="t",
        trail_arn=f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/t",
        home_region=region,
        s3_bucket_name="b",
        event_selection=chosen,
        is_logging=True,
        **members,
    )
