"""PutEventSelectors / GetEventSelectors and PutInsightSelectors / GetInsightSelectors through boto3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import Server
from tests.support.trails import Tenant, body, expect_error, expect_raw_error

TRAIL = "selected"
DEFAULT_BASIC = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
]
MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
DATA = {"Field": "eventCategory", "Equals": ["Data"]}
S3_TYPE = {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}


@pytest.fixture(scope="module")
def module_tenant(server: Server) -> Tenant:
    return Tenant.create(server)


@pytest.fixture
def tenant(module_tenant: Tenant) -> Iterator[Tenant]:
    """The module's account with one fresh trail, emptied again after the test."""
    module_tenant.trail(TRAIL)
    yield module_tenant
    module_tenant.clear()


def put(tenant: Tenant, **selectors: Any) -> dict[str, Any]:
    return body(tenant.client().put_event_selectors(TrailName=TRAIL, **selectors))


def get(tenant: Tenant) -> dict[str, Any]:
    return body(tenant.client().get_event_selectors(TrailName=TRAIL))


# -- event selectors -----------------------------------------------------------------------------------------


def test_new_trail_logs_all_management_events(tenant: Tenant) -> None:
    assert get(tenant) == {"TrailARN": tenant.arn(TRAIL), "EventSelectors": DEFAULT_BASIC}
    assert tenant.client().get_trail(Name=TRAIL)["Trail"]["HasCustomEventSelectors"] is False


def test_basic_selectors_round_trip_with_defaults_filled_in(tenant: Tenant) -> None:
    given: list[dict[str, Any]] = [
        {
            "ReadWriteType": "ReadOnly",
            "IncludeManagementEvents": False,
            "DataResources": [
                {
                    "Type": "AWS::S3::Object",
                    "Values": ["arn:aws:s3:::my-bucket/", "arn:aws:s3:::logs.bucket/p/q"],
                },
                {
                    "Type": "AWS::Lambda::Function",
                    "Values": ["arn:aws:lambda:us-east-1:111122223333:function:fn"],
                },
                {"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb"]},
            ],
            "ExcludeManagementEventSources": ["kms.amazonaws.com"],
        },
        {"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]},
    ]
    expected = [
        given[0],
        {
            "ReadWriteType": "All",
            "IncludeManagementEvents": True,
            "DataResources": given[1]["DataResources"],
            "ExcludeManagementEventSources": [],
        },
    ]
    assert put(tenant, EventSelectors=given) == {"TrailARN": tenant.arn(TRAIL), "EventSelectors": expected}
    assert get(tenant) == {"TrailARN": tenant.arn(TRAIL), "EventSelectors": expected}
    assert tenant.client().get_trail(Name=TRAIL)["Trail"]["HasCustomEventSelectors"] is True


def test_advanced_selectors_round_trip_and_replace_basic_ones(tenant: Tenant) -> None:
    advanced = [
        {
            "Name": "Management events",
            "FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}],
        },
        {
            "Name": "S3 writes to one bucket",
            "FieldSelectors": [
                DATA,
                S3_TYPE,
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::my-bucket/"]},
                {"Field": "eventName", "NotEquals": ["GetObject"], "NotStartsWith": ["Head"]},
            ],
        },
        {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["NetworkActivity"]},
                {"Field": "eventSource", "Equals": ["ec2.amazonaws.com"]},
            ]
        },
    ]
    put(tenant, EventSelectors=[{"ReadWriteType": "WriteOnly"}])
    assert put(tenant, AdvancedEventSelectors=advanced) == {
        "TrailARN": tenant.arn(TRAIL),
        "AdvancedEventSelectors": advanced,
    }
    assert get(tenant) == {"TrailARN": tenant.arn(TRAIL), "AdvancedEventSelectors": advanced}
    # Putting one form clears the other.
    put(tenant, EventSelectors=[{"ReadWriteType": "All"}])
    assert get(tenant) == {"TrailARN": tenant.arn(TRAIL), "EventSelectors": DEFAULT_BASIC}
    assert get(tenant)["EventSelectors"] == DEFAULT_BASIC


def test_event_selectors_by_arn_and_errors(tenant: Tenant) -> None:
    client = tenant.client()
    selectors = [{"ReadWriteType": "WriteOnly"}]
    assert client.put_event_selectors(TrailName=tenant.arn(TRAIL), EventSelectors=selectors)[
        "TrailARN"
    ] == tenant.arn(TRAIL)
    expect_error(
        "TrailNotFoundException", client.put_event_selectors, TrailName="absent", EventSelectors=selectors
    )
    expect_error("TrailNotFoundException", client.get_event_selectors, TrailName="absent")
    expect_error("InvalidTrailNameException", client.get_event_selectors, TrailName="-bad")
    expect_error(
        "CloudTrailARNInvalidException", client.get_event_selectors, TrailName="arn:aws:cloudtrail:zz"
    )
    both = expect_error(
        "InvalidParameterCombinationException",
        client.put_event_selectors,
        TrailName=TRAIL,
        EventSelectors=selectors,
        AdvancedEventSelectors=[{"FieldSelectors": [MANAGEMENT]}],
    )
    assert "both" in both
    assert "neither" in expect_error(
        "InvalidParameterCombinationException", client.put_event_selectors, TrailName=TRAIL
    )


def _s3(*values: str) -> dict[str, Any]:
    return {"DataResources": [{"Type": "AWS::S3::Object", "Values": list(values)}]}


@pytest.mark.parametrize(
    ("selectors", "says"),
    [
        ([], "between 1 and 5"),
        ([{}] * 6, "between 1 and 5"),
        ([{"ReadWriteType": "read-only"}], "ReadWriteType 'read-only'"),
        ([{"ExcludeManagementEventSources": ["s3.amazonaws.com"]}], "s3.amazonaws.com"),
        (
            [{"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["arn:aws:ec2"]}]}],
            "AWS::EC2::Instance",
        ),
        ([{"DataResources": [{"Values": ["arn:aws:s3"]}]}], "Type is required"),
        ([{"DataResources": [{"Type": "AWS::S3::Object", "Values": []}]}], "at least one ARN"),
        # AWS's text for a value that is not of its type's forms (aws/aws-cdk#3450,
        # hashicorp/terraform-provider-aws#4043), asserted whole.
        (
            [_s3("arn:aws:s3:::my-bucket")],
            "Value arn:aws:s3:::my-bucket for DataResources.Values is invalid.",
        ),
        (
            [_s3("arn:aws:s3:::Bad_Bucket/")],
            "Value arn:aws:s3:::Bad_Bucket/ for DataResources.Values is invalid.",
        ),
        ([_s3("s3://bucket/")], "Value s3://bucket/ for DataResources.Values is invalid."),
        (
            [
                {
                    "DataResources": [
                        {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda:us-east-1:1:function:f"]}
                    ]
                }
            ],
            "Value arn:aws:lambda:us-east-1:1:function:f for DataResources.Values is invalid.",
        ),
        (
            [
                {
                    "DataResources": [
                        {
                            "Type": "AWS::DynamoDB::Table",
                            "Values": ["arn:aws:dynamodb:us-east-1:111122223333:tbl"],
                        }
                    ]
                }
            ],
            "Value arn:aws:dynamodb:us-east-1:111122223333:tbl for DataResources.Values is invalid.",
        ),
        ([_s3(*[f"arn:aws:s3:::bucket-{i:03d}/" for i in range(251)])], "251 data resources"),
        (
            [
                _s3(*[f"arn:aws:s3:::bucket-{i:03d}/" for i in range(126)]),
                _s3(*[f"arn:aws:s3:::other-{i:03d}/" for i in range(125)]),
            ],
            "251",
        ),
    ],
)
def test_invalid_basic_selectors(tenant: Tenant, selectors: list[dict[str, Any]], says: str) -> None:
    message = expect_error(
        "InvalidEventSelectorsException",
        tenant.client().put_event_selectors,
        TrailName=TRAIL,
        EventSelectors=selectors,
    )
    assert says in message
    assert get(tenant)["EventSelectors"] == DEFAULT_BASIC


def test_data_resource_limits(tenant: Tenant) -> None:
    exactly = [_s3(*[f"arn:aws:s3:::bucket-{i:03d}/" for i in range(250)])]
    assert len(put(tenant, EventSelectors=exactly)["EventSelectors"][0]["DataResources"][0]["Values"]) == 250
    # The forms that select every resource of a type do not count toward the 250.
    exactly[0]["DataResources"].append({"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]})
    put(tenant, EventSelectors=[*exactly, {}, {}, {}, {}])


def _advanced(*fields: dict[str, Any], name: str | None = None) -> list[dict[str, Any]]:
    selector: dict[str, Any] = {"FieldSelectors": list(fields)}
    if name is not None:
        selector["Name"] = name
    return [selector]


@pytest.mark.parametrize(
    ("selectors", "says"),
    [
        ([], "between 1 and 5"),
        (_advanced(MANAGEMENT) * 6, "between 1 and 5"),
        (_advanced(MANAGEMENT, name="n" * 1001), "Name"),
        (_advanced({"Field": "readOnly", "Equals": ["true"]}), "must include the eventCategory field"),
        (_advanced({"Field": "eventCategory", "StartsWith": ["Man"]}), "only the Equals operator"),
        (_advanced({"Field": "eventCategory", "Equals": ["Management", "Data"]}), "exactly one Equals value"),
        (_advanced({"Field": "eventCategory", "Equals": ["Bogus"]}), "'Bogus' is not valid"),
        (
            _advanced({"Field": "eventCategory", "Equals": ["ConfigurationItem"]}),
            "only valid for event data stores",
        ),
        (
            _advanced(MANAGEMENT, {"Field": "eventName", "Equals": ["RunInstances"]}),
            "field eventName is not valid for eventCategory Management",
        ),
        (_advanced(MANAGEMENT, {"Field": "readOnly", "NotEquals": ["true"]}), "only the Equals operator"),
        (_advanced(MANAGEMENT, {"Field": "readOnly", "Equals": ["yes"]}), "'true' or 'false'"),
        (_advanced(MANAGEMENT, {"Field": "eventSource", "Equals": ["kms.amazonaws.com"]}), "NotEquals"),
        (_advanced(MANAGEMENT, {"Field": "eventSource", "NotEquals": ["s3.amazonaws.com"]}), "NotEquals"),
        (_advanced(DATA), "resources.type"),
        (_advanced(DATA, {"Field": "resources.type", "Equals": ["S3Object"]}), "not a resource type"),
        (
            _advanced(
                DATA, {"Field": "resources.type", "Equals": ["AWS::S3::Object", "AWS::Lambda::Function"]}
            ),
            "exactly one",
        ),
        (_advanced(DATA, S3_TYPE, {"Field": "resources.ARN", "Equals": ["my-bucket"]}), "full ARN"),
        (_advanced(DATA, S3_TYPE, {"Field": "eventName"}), "at least one operator"),
        (_advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": []}), "at least one value"),
        (_advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": ["x" * 2049]}), "1-2048"),
        (_advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": [""]}), "1-2048"),
        (
            _advanced(
                DATA,
                S3_TYPE,
                {"Field": "eventName", "Equals": ["a"]},
                {"Field": "eventName", "Equals": ["b"]},
            ),
            "more than once",
        ),
        (_advanced(DATA, S3_TYPE, {"Field": "event-name", "Equals": ["a"]}), "not a valid field name"),
        (_advanced(DATA, S3_TYPE, {"Field": "errorCode", "Equals": ["a"]}), "errorCode is not valid"),
        (_advanced({"Field": "eventCategory", "Equals": ["NetworkActivity"]}), "eventSource"),
        (
            _advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": [f"e{i}" for i in range(499)]}),
            "501 values",
        ),
        ([{"Name": "no fields", "FieldSelectors": []}], "at least one field selector"),
    ],
)
def test_invalid_advanced_selectors(tenant: Tenant, selectors: list[dict[str, Any]], says: str) -> None:
    # Sent past botocore's own checks: some of these break the model's minimums, which only botocore checks.
    params = {"TrailName": TRAIL, "AdvancedEventSelectors": selectors}
    message = expect_raw_error("InvalidEventSelectorsException", tenant, "PutEventSelectors", params)
    assert says in message
    assert get(tenant)["EventSelectors"] == DEFAULT_BASIC


LAMBDA_TYPE = {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]}


@pytest.mark.parametrize(
    ("selectors", "says"),
    [
        (
            _advanced(DATA, S3_TYPE, {"Field": "sessionCredentialFromConsole", "StartsWith": ["t"]}),
            "AdvancedEventSelectors[0]: field sessionCredentialFromConsole supports only the Equals and "
            "NotEquals operators, got StartsWith",
        ),
        (
            _advanced(DATA, S3_TYPE, {"Field": "sessionCredentialFromConsole", "NotEquals": ["yes"]}),
            "AdvancedEventSelectors[0]: field sessionCredentialFromConsole takes 'true' or 'false', "
            "got 'yes' in NotEquals",
        ),
        (
            _advanced(DATA, LAMBDA_TYPE, {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::bucket/"]}),
            "AdvancedEventSelectors[0]: resources.ARN StartsWith value 'arn:aws:s3:::bucket/' is not an "
            "ARN of resources.type AWS::Lambda::Function; expected arn:<partition>:lambda:...",
        ),
        (
            _advanced(
                DATA,
                S3_TYPE,
                {"Field": "resources.ARN", "NotEquals": ["arn:aws:dynamodb:us-east-1:111122223333:table/t"]},
            ),
            "is not an ARN of resources.type AWS::S3::Object; expected arn:<partition>:s3:...",
        ),
    ],
)
def test_invalid_field_operators_and_values(
    tenant: Tenant, selectors: list[dict[str, Any]], says: str
) -> None:
    """The rules the selector engine relies on, refused with messages naming selector, field and value."""
    params = {"TrailName": TRAIL, "AdvancedEventSelectors": selectors}
    message = expect_raw_error("InvalidEventSelectorsException", tenant, "PutEventSelectors", params)
    assert says in message
    assert get(tenant)["EventSelectors"] == DEFAULT_BASIC


def test_advanced_value_limit_is_500(tenant: Tenant) -> None:
    selectors = _advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": [f"e{i}" for i in range(498)]})
    assert put(tenant, AdvancedEventSelectors=selectors)["AdvancedEventSelectors"] == selectors


@pytest.mark.parametrize(
    "selectors",
    [
        {"EventSelectors": [{"ReadWriteType": 5}]},
        {"EventSelectors": [{"IncludeManagementEvents": "yes"}]},
        {"EventSelectors": ["All"]},
        {"EventSelectors": [{"DataResources": [{"Type": "AWS::S3::Object", "Values": "arn:aws:s3"}]}]},
        {
            "AdvancedEventSelectors": [
                {"FieldSelectors": [{"Field": "eventCategory", "Equals": "Management"}]}
            ]
        },
        {"AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": [1]}]}]},
    ],
)
def test_wrong_json_types_are_serialization_errors(tenant: Tenant, selectors: dict[str, Any]) -> None:
    expect_raw_error("SerializationException", tenant, "PutEventSelectors", {"TrailName": TRAIL, **selectors})


# -- Insights selectors --------------------------------------------------------------------------------------


def test_insights_lifecycle(tenant: Tenant) -> None:
    client = tenant.client()
    message = expect_error("InsightNotEnabledException", client.get_insight_selectors, TrailName=TRAIL)
    assert message == (
        f"Trail {TRAIL} does not have Insights enabled. Edit the trail settings to enable Insights, and then "
        "try the operation again."
    )
    selectors = [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Management"]},
    ]
    expected = {"TrailARN": tenant.arn(TRAIL), "InsightSelectors": selectors}
    assert body(client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=selectors)) == expected
    assert body(client.get_insight_selectors(TrailName=TRAIL)) == expected
    assert body(client.get_insight_selectors(TrailName=tenant.arn(TRAIL))) == expected
    assert client.get_trail(Name=TRAIL)["Trail"]["HasInsightSelectors"] is True
    # An empty list turns Insights off.
    assert body(client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=[])) == {
        "TrailARN": tenant.arn(TRAIL),
        "InsightSelectors": [],
    }
    expect_error("InsightNotEnabledException", client.get_insight_selectors, TrailName=TRAIL)
    assert client.get_trail(Name=TRAIL)["Trail"]["HasInsightSelectors"] is False


def test_insights_need_the_events_they_analyse(tenant: Tenant) -> None:
    client = tenant.client()
    call_rate = [{"InsightType": "ApiCallRateInsight"}]
    error_rate = [{"InsightType": "ApiErrorRateInsight"}]
    put(tenant, EventSelectors=[{"ReadWriteType": "ReadOnly"}])
    message = expect_error(
        "InvalidInsightSelectorsException",
        client.put_insight_selectors,
        TrailName=TRAIL,
        InsightSelectors=call_rate,
    )
    assert "write management events" in message
    client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=error_rate)
    put(tenant, EventSelectors=[{"IncludeManagementEvents": False, **_s3("arn:aws:s3")}])
    expect_error(
        "InvalidInsightSelectorsException",
        client.put_insight_selectors,
        TrailName=TRAIL,
        InsightSelectors=error_rate,
    )
    on_data = [{"InsightType": "ApiCallRateInsight", "EventCategories": ["Data"]}]
    assert (
        client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=on_data)["InsightSelectors"] == on_data
    )
    # Advanced selectors: management writes excluded by readOnly=true, no data selector.
    put(tenant, AdvancedEventSelectors=_advanced(MANAGEMENT, {"Field": "readOnly", "Equals": ["true"]}))
    expect_error(
        "InvalidInsightSelectorsException",
        client.put_insight_selectors,
        TrailName=TRAIL,
        InsightSelectors=call_rate,
    )
    expect_error(
        "InvalidInsightSelectorsException",
        client.put_insight_selectors,
        TrailName=TRAIL,
        InsightSelectors=on_data,
    )
    client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=error_rate)
    put(tenant, AdvancedEventSelectors=[_advanced(MANAGEMENT)[0], _advanced(DATA, S3_TYPE)[0]])
    both = [{"InsightType": "ApiCallRateInsight", "EventCategories": ["Management", "Data"]}]
    assert client.put_insight_selectors(TrailName=TRAIL, InsightSelectors=both)["InsightSelectors"] == both


@pytest.mark.parametrize(
    ("selectors", "says"),
    [
        ([{"InsightType": "ApiCallVolumeInsight"}], "ApiCallVolumeInsight"),
        ([{}], "InsightType None"),
        ([{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiCallRateInsight"}], "more than once"),
        ([{"InsightType": "ApiCallRateInsight", "EventCategories": ["Network"]}], "EventCategories"),
        ([{"InsightType": "ApiCallRateInsight", "EventCategories": []}], "EventCategories"),
    ],
)
def test_invalid_insight_selectors(tenant: Tenant, selectors: list[dict[str, Any]], says: str) -> None:
    message = expect_error(
        "InvalidInsightSelectorsException",
        tenant.client().put_insight_selectors,
        TrailName=TRAIL,
        InsightSelectors=selectors,
    )
    assert says in message


def test_insight_selector_targets(tenant: Tenant) -> None:
    client = tenant.client()
    eds = (
        f"arn:aws:cloudtrail:us-east-1:{tenant.account_id}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
    )
    selectors = [{"InsightType": "ApiCallRateInsight"}]
    combos: list[tuple[str, dict[str, Any]]] = [
        ("InvalidParameterCombinationException", {"TrailName": TRAIL, "EventDataStore": eds}),
        ("InvalidParameterCombinationException", {"TrailName": TRAIL, "InsightsDestination": eds}),
        ("InvalidParameterCombinationException", {"EventDataStore": eds}),
        ("InvalidParameterCombinationException", {}),
        ("EventDataStoreNotFoundException", {"EventDataStore": eds, "InsightsDestination": eds}),
        ("TrailNotFoundException", {"TrailName": "not-there"}),
        ("InvalidTrailNameException", {"TrailName": "no spaces"}),
        ("CloudTrailARNInvalidException", {"TrailName": "arn:aws:cloudtrail:us-east-1:1:trail/x"}),
    ]
    for code, args in combos:
        expect_error(code, client.put_insight_selectors, InsightSelectors=selectors, **args)
    for code, args in [
        ("InvalidParameterCombinationException", {"TrailName": TRAIL, "EventDataStore": eds}),
        ("InvalidParameterCombinationException", {}),
        ("EventDataStoreNotFoundException", {"EventDataStore": eds}),
        ("TrailNotFoundException", {"TrailName": "not-there"}),
    ]:
        expect_error(code, client.get_insight_selectors, **args)
