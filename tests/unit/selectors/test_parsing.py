"""Selector parsing (``selectors/parsing.py``): CloudTrail's validation rules for basic, advanced and
Insights selectors (reference §2.11, §2.12, §8, §9.1), at their limits and on the forms they accept, and
the selection a valid wire form becomes: the same wire form back, with the defaults filled in.

Wrong JSON types are ``SerializationException``; every other violation ``InvalidEventSelectorsException``
or ``InvalidInsightSelectorsException`` naming where it is. tests/e2e/test_selectors_api.py sends the
refusals through boto3 and checks the server's answers; these check the rules themselves.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrail.errors import InvalidEventSelectors, InvalidInsightSelectors, SerializationException
from opentrail.selectors.model import DEFAULT_SELECTION, EventSelection, EventSelector, InsightSelector
from opentrail.selectors.parsing import (
    check_insight_preconditions,
    parse_advanced_event_selectors,
    parse_event_selectors,
    parse_insight_selectors,
)

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:helloworld"
TABLE = "arn:aws:dynamodb:us-east-1:111122223333:table/orders"
MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
DATA = {"Field": "eventCategory", "Equals": ["Data"]}
NETWORK = {"Field": "eventCategory", "Equals": ["NetworkActivity"]}
S3_TYPE = {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
VPC_SOURCE = {"Field": "eventSource", "Equals": ["s3.amazonaws.com"]}


def resources(kind: str, *values: str) -> dict[str, Any]:
    return {"DataResources": [{"Type": kind, "Values": list(values)}]}


def refused_basic(selectors: list[Any]) -> str:
    with pytest.raises(InvalidEventSelectors) as info:
        parse_event_selectors(selectors)
    return info.value.message


def refused_advanced(*fields: dict[str, Any], name: str | None = None) -> str:
    selector: dict[str, Any] = {"FieldSelectors": list(fields)}
    if name is not None:
        selector["Name"] = name
    with pytest.raises(InvalidEventSelectors) as info:
        parse_advanced_event_selectors([selector])
    return info.value.message


def accepted_advanced(*fields: dict[str, Any], name: str | None = None) -> EventSelection:
    selector: dict[str, Any] = {"FieldSelectors": list(fields)}
    if name is not None:
        selector["Name"] = name
    return parse_advanced_event_selectors([selector])


# -- basic selectors ---------------------------------------------------------------------------------------


def test_members_left_out_take_their_defaults() -> None:
    assert parse_event_selectors([{}]) == DEFAULT_SELECTION
    off = parse_event_selectors([{"IncludeManagementEvents": False, "ReadWriteType": "ReadOnly"}])
    assert off.basic == [EventSelector(read_write_type="ReadOnly", include_management_events=False)]


def test_one_to_five_basic_selectors() -> None:
    assert len(parse_event_selectors([{}] * 5).basic or []) == 5
    assert "between 1 and 5 selectors, got 0" in refused_basic([])
    assert "between 1 and 5 selectors, got 6" in refused_basic([{}] * 6)


@pytest.mark.parametrize("kind", ["ReadOnly", "WriteOnly", "All"])
def test_each_read_write_type(kind: str) -> None:
    assert (parse_event_selectors([{"ReadWriteType": kind}]).basic or [])[0].read_write_type == kind


@pytest.mark.parametrize(
    "kind",
    [
        "read-only",
        "all",
        "READONLY",
        "",
    ],
)
def test_other_spellings_of_read_write_type_are_refused(kind: str) -> None:
    assert f"ReadWriteType {kind!r} is not valid" in refused_basic([{"ReadWriteType": kind}])


def test_only_kms_and_rds_data_can_be_excluded() -> None:
    both = ["kms.amazonaws.com", "rdsdata.amazonaws.com"]
    selection = parse_event_selectors([{"ExcludeManagementEventSources": both}])
    assert (selection.basic or [])[0].exclude_management_event_sources == both
    assert "'s3.amazonaws.com'" in refused_basic([{"ExcludeManagementEventSources": ["s3.amazonaws.com"]}])


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("AWS::S3::Object", "arn:aws:s3"),  # every bucket
        ("AWS::S3::Object", "arn:aws:s3:::"),
        ("AWS::S3::Object", "arn:aws:s3:::my-bucket/"),  # every object of a bucket
        ("AWS::S3::Object", "arn:aws:s3:::logs.example.com/AWSLogs/"),  # objects under a prefix
        ("AWS::S3::Object", "arn:aws-cn:s3:::my-bucket/"),
        ("AWS::Lambda::Function", "arn:aws:lambda"),
        ("AWS::Lambda::Function", "arn:aws-cn:lambda"),  # every function, in another partition
        ("AWS::Lambda::Function", FUNCTION),
        ("AWS::Lambda::Function", FUNCTION + ":$LATEST"),
        ("AWS::Lambda::Function", FUNCTION + ":7"),
        ("AWS::Lambda::Function", FUNCTION + ":prod"),
        ("AWS::Lambda::Function", "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:f"),
        ("AWS::DynamoDB::Table", "arn:aws:dynamodb"),
        ("AWS::DynamoDB::Table", TABLE),
        ("AWS::DynamoDB::Table", "arn:aws:dynamodb:us-east-1:111122223333:table/" + "t" * 255),
    ],
)
def test_the_data_resource_values_each_type_accepts(kind: str, value: str) -> None:
    selection = parse_event_selectors([resources(kind, value)])
    assert (selection.basic or [])[0].data_resources[0].values == [value]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("AWS::S3::Object", "arn:aws:s3:::my-bucket"),  # a bucket without the slash of its objects
        ("AWS::S3::Object", "arn:aws:s3:::*"),  # refused by AWS (aws-samples/...#335)
        ("AWS::Lambda::Function", "arn:aws:lambda:*"),  # refused by AWS (same issue)
        ("AWS::S3::Object", "s3://my-bucket/"),
        ("AWS::S3::Object", "arn:aws:s3:::My_Bucket/"),
        ("AWS::S3::Object", "arn:aws:s3:::ab/"),  # bucket names have 3 to 63 characters
        ("AWS::S3::Object", "arn:aws:s3:::192.168.5.4/"),  # nor the form of an IP address
        ("AWS::S3::Object", "arn:aws:s3:::my..bucket/"),
        ("AWS::Lambda::Function", "arn:aws:lambda:us-east-1:1:function:f"),  # accounts have 12 digits
        ("AWS::Lambda::Function", "arn:aws:lambda:us-east-1:111122223333:function:" + "f" * 65),
        ("AWS::Lambda::Function", "arn:aws:lambda:us-east-1:111122223333:helloworld"),
        ("AWS::DynamoDB::Table", "arn:aws:dynamodb:us-east-1:111122223333:table/ab"),
        ("AWS::DynamoDB::Table", "arn:aws:dynamodb:us-east-1:111122223333:table/" + "t" * 256),
        ("AWS::DynamoDB::Table", FUNCTION),
    ],
)
def test_values_not_of_the_types_forms_are_refused(kind: str, value: str) -> None:
    # AWS's text (aws/aws-cdk#3450, hashicorp/terraform-provider-aws#4043 for arn:aws:s3:::bucket).
    assert refused_basic([resources(kind, value)]) == f"Value {value} for DataResources.Values is invalid."


@pytest.mark.parametrize(
    "kind", ["AWS::S3::Bucket", "AWS::EC2::Instance", "AWS::SNS::Topic", "aws::s3::object"]
)
def test_basic_selectors_take_three_resource_types(kind: str) -> None:
    assert f"Type {kind!r} is not supported by basic event selectors" in refused_basic(
        [resources(kind, "arn:aws:s3")]
    )


def test_a_data_resource_needs_a_type_and_a_value() -> None:
    assert "DataResources[0].Type is required" in refused_basic(
        [{"DataResources": [{"Values": ["arn:aws:s3"]}]}]
    )
    assert "at least one ARN" in refused_basic([resources("AWS::S3::Object")])


def test_250_data_resources_in_all_not_counting_every_resource_of_a_type() -> None:
    buckets = [f"arn:aws:s3:::bucket-{i:03d}/" for i in range(250)]
    halves = [resources("AWS::S3::Object", *buckets[:125]), resources("AWS::S3::Object", *buckets[125:])]
    everything = resources("AWS::Lambda::Function", "arn:aws:lambda")
    parse_event_selectors([*halves, everything, resources("AWS::S3::Object", "arn:aws:s3")])
    one_more = resources("AWS::DynamoDB::Table", TABLE)
    assert "name 251 data resources" in refused_basic([*halves, one_more])


def test_a_bad_value_in_any_selector_is_named_as_aws_names_it() -> None:
    everything = {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}
    bad = {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3", "bad"]}
    assert refused_basic([{}, {"DataResources": [everything, bad]}]) == (
        "Value bad for DataResources.Values is invalid."
    )


@pytest.mark.parametrize(
    "selectors",
    [
        ["All"],
        [{"ReadWriteType": 5}],
        [{"IncludeManagementEvents": "yes"}],
        [{"DataResources": {"Type": "AWS::S3::Object"}}],
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": "arn:aws:s3"}]}],
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": [5]}]}],
        [{"ExcludeManagementEventSources": "kms.amazonaws.com"}],
    ],
)
def test_wrong_json_types_in_basic_selectors_are_serialization_errors(selectors: list[Any]) -> None:
    with pytest.raises(SerializationException):
        parse_event_selectors(selectors)


# -- advanced selectors ------------------------------------------------------------------------------------

# The fields a trail's advanced selectors may use, by category (reference §8.2), each with a value it takes.
FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "Management": {
        "eventSource": {"NotEquals": ["kms.amazonaws.com", "rdsdata.amazonaws.com"]},
        "readOnly": {"Equals": ["true"]},
    },
    "Data": {
        "eventName": {"Equals": ["PutObject"]},
        "eventSource": {"Equals": ["s3.amazonaws.com"]},
        "eventType": {"Equals": ["AwsApiCall"]},
        "readOnly": {"Equals": ["false"]},
        "resources.ARN": {"StartsWith": ["arn:aws:s3:::my-bucket/"]},
        "sessionCredentialFromConsole": {"Equals": ["true"]},
        "userIdentity.arn": {"NotStartsWith": ["arn:aws:sts::111122223333:assumed-role/"]},
    },
    "NetworkActivity": {
        "eventName": {"Equals": ["GetObject"]},
        "errorCode": {"Equals": ["VpceAccessDenied"]},
        "vpcEndpointId": {"NotEquals": ["vpce-0123456789abcdef0"]},
        "userIdentity.arn": {"Equals": ["arn:aws:iam::111122223333:user/alice"]},
    },
}
REQUIRED = {"Management": [MANAGEMENT], "Data": [DATA, S3_TYPE], "NetworkActivity": [NETWORK, VPC_SOURCE]}
CANDIDATES = sorted({f for fields in FIELDS.values() for f in fields} | {"resources.type", "eventSource"})


@pytest.mark.parametrize(("category", "field"), [(c, f) for c in FIELDS for f in FIELDS[c]])
def test_each_field_a_category_takes(category: str, field: str) -> None:
    condition = {"Field": field, **FIELDS[category][field]}
    selection = accepted_advanced(*REQUIRED[category], condition)
    chosen = (selection.advanced or [])[0]
    assert chosen.category == category
    assert chosen.field(field) is not None


@pytest.mark.parametrize(
    ("category", "field"),
    [
        (c, f)
        for c in FIELDS
        for f in CANDIDATES
        if f not in FIELDS[c] and f not in ("eventSource", "resources.type")
    ]
    + [("Management", "resources.type"), ("NetworkActivity", "resources.type")],
)
def test_fields_of_other_categories_are_refused(category: str, field: str) -> None:
    message = refused_advanced(*REQUIRED[category], {"Field": field, "Equals": ["x"]})
    assert f"field {field} is not valid for eventCategory {category} on a trail" in message


@pytest.mark.parametrize("category", ["Insight", "ConfigurationItem", "ActivityAuditLog"])
def test_categories_of_event_data_stores_are_refused_for_trails(category: str) -> None:
    message = refused_advanced({"Field": "eventCategory", "Equals": [category]})
    assert f"eventCategory {category} is only valid for event data stores" in message


@pytest.mark.parametrize("field", ["eventCategory", "resources.type", "readOnly"])
@pytest.mark.parametrize("operator", ["StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"])
def test_fields_that_take_only_equals(field: str, operator: str) -> None:
    fields = [DATA, S3_TYPE, {"Field": "readOnly", "Equals": ["true"]}]
    chosen = next(f for f in fields if f["Field"] == field)
    changed = [dict(f) for f in fields]
    changed[fields.index(chosen)] = {"Field": field, operator: chosen["Equals"]}
    assert "only the Equals operator" in refused_advanced(*changed)


def test_one_category_and_one_resource_type_per_selector() -> None:
    assert "exactly one Equals value" in refused_advanced(
        {"Field": "eventCategory", "Equals": ["Data", "Management"]}
    )
    two_types = {"Field": "resources.type", "Equals": ["AWS::S3::Object", "AWS::Lambda::Function"]}
    assert "exactly one Equals value" in refused_advanced(DATA, two_types)
    assert "must include the eventCategory field" in refused_advanced(S3_TYPE)
    assert "must include the resources.type field" in refused_advanced(DATA)


@pytest.mark.parametrize(
    "kind", ["AWS::S3::Object", "AWS::S3Outposts::Object", "AWS::DynamoDB::Stream", "AWS::SNS::Topic"]
)
def test_any_resource_type_of_the_aws_form(kind: str) -> None:
    accepted_advanced(DATA, {"Field": "resources.type", "Equals": [kind]})


@pytest.mark.parametrize("kind", ["S3Object", "AWS::S3", "aws::s3::object", "AWS::S3::Object::Extra"])
def test_resource_types_not_of_the_aws_form_are_refused(kind: str) -> None:
    assert "is not a resource type" in refused_advanced(DATA, {"Field": "resources.type", "Equals": [kind]})


def test_management_event_sources_can_only_be_excluded_and_only_kms_or_rds_data() -> None:
    accepted_advanced(MANAGEMENT, {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]})
    for condition in (
        {"Field": "eventSource", "Equals": ["kms.amazonaws.com"]},
        {"Field": "eventSource", "NotEquals": ["s3.amazonaws.com"]},
        {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"], "NotStartsWith": ["rds"]},
    ):
        assert "eventSource can only be NotEquals" in refused_advanced(MANAGEMENT, condition)


def test_network_activity_names_its_sources_with_equals() -> None:
    two = {"Field": "eventSource", "Equals": ["s3.amazonaws.com", "kms.amazonaws.com"]}
    assert (accepted_advanced(NETWORK, two).advanced or [])[0].field("eventSource") is not None
    assert "must include the eventSource field" in refused_advanced(NETWORK)
    prefix = {"Field": "eventSource", "StartsWith": ["s3."]}
    assert "only the Equals operator" in refused_advanced(NETWORK, prefix)


@pytest.mark.parametrize("field", ["readOnly", "sessionCredentialFromConsole"])
def test_boolean_fields_take_true_or_false(field: str) -> None:
    for value in ("true", "false"):
        accepted_advanced(DATA, S3_TYPE, {"Field": field, "Equals": [value]})
    for value in ("True", "yes", "1"):
        assert "takes 'true' or 'false'" in refused_advanced(
            DATA, S3_TYPE, {"Field": field, "Equals": [value]}
        )


def test_session_credential_from_console_may_be_excluded() -> None:
    accepted_advanced(DATA, S3_TYPE, {"Field": "sessionCredentialFromConsole", "NotEquals": ["true"]})
    condition = {"Field": "sessionCredentialFromConsole", "EndsWith": ["e"]}
    assert "only the Equals and NotEquals operators" in refused_advanced(DATA, S3_TYPE, condition)


def test_a_resource_arn_compared_whole_must_be_a_full_arn_of_the_type() -> None:
    whole = "arn:aws:s3:::my-bucket/key.txt"
    accepted_advanced(
        DATA, S3_TYPE, {"Field": "resources.ARN", "Equals": [whole], "NotEquals": [whole + "2"]}
    )
    accepted_advanced(DATA, S3_TYPE, {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::my-bucket/"]})
    accepted_advanced(DATA, S3_TYPE, {"Field": "resources.ARN", "EndsWith": [".txt"]})
    accepted_advanced(
        DATA, S3_TYPE, {"Field": "resources.ARN", "StartsWith": ["arn:aws"]}
    )  # too short to say
    assert "must be a full ARN" in refused_advanced(
        DATA, S3_TYPE, {"Field": "resources.ARN", "Equals": ["my-bucket"]}
    )
    lambda_type = {"Field": "resources.type", "Equals": ["AWS::Lambda::Function"]}
    accepted_advanced(DATA, lambda_type, {"Field": "resources.ARN", "Equals": [FUNCTION]})
    wrong = {"Field": "resources.ARN", "StartsWith": ["arn:aws:dynamodb:us-east-1:111122223333:table/"]}
    assert "is not an ARN of resources.type AWS::Lambda::Function" in refused_advanced(
        DATA, lambda_type, wrong
    )
    # Types whose ARNs vary by service are not second-guessed.
    topic = {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]}
    accepted_advanced(
        DATA, topic, {"Field": "resources.ARN", "Equals": ["arn:aws:sns:us-east-1:111122223333:t"]}
    )


def test_field_names_values_and_operators() -> None:
    assert "not a valid field name" in refused_advanced(
        DATA, S3_TYPE, {"Field": "event-name", "Equals": ["a"]}
    )
    assert "not a valid field name" in refused_advanced(DATA, S3_TYPE, {"Field": "", "Equals": ["a"]})
    assert ".Field is required" in refused_advanced(DATA, S3_TYPE, {"Equals": ["a"]})
    assert "at least one operator" in refused_advanced(DATA, S3_TYPE, {"Field": "eventName"})
    assert "at least one value" in refused_advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": []})
    accepted_advanced(DATA, S3_TYPE, {"Field": "eventName", "Equals": ["x" * 2048]})
    for value in ("", "x" * 2049):
        assert "1-2048 characters" in refused_advanced(
            DATA, S3_TYPE, {"Field": "eventName", "Equals": [value]}
        )
    twice = [{"Field": "eventName", "Equals": ["a"]}, {"Field": "eventName", "NotEquals": ["b"]}]
    assert "field eventName appears more than once" in refused_advanced(DATA, S3_TYPE, *twice)
    empty = {"Name": "nothing", "FieldSelectors": []}
    with pytest.raises(InvalidEventSelectors, match="at least one field selector"):
        parse_advanced_event_selectors([empty])


def test_a_name_of_up_to_1000_characters() -> None:
    assert (accepted_advanced(MANAGEMENT, name="n" * 1000).advanced or [])[0].name == "n" * 1000
    assert "Name" in refused_advanced(MANAGEMENT, name="n" * 1001)


def test_one_to_five_advanced_selectors() -> None:
    five = [{"FieldSelectors": [MANAGEMENT]}] * 5
    assert len(parse_advanced_event_selectors(five).advanced or []) == 5
    with pytest.raises(InvalidEventSelectors, match="between 1 and 5 selectors, got 6"):
        parse_advanced_event_selectors(five + five[:1])
    with pytest.raises(InvalidEventSelectors, match="between 1 and 5 selectors, got 0"):
        parse_advanced_event_selectors([])


def test_500_values_in_all_conditions_of_all_selectors() -> None:
    """Every value counts, the required eventCategory and resources.type ones included."""
    names = [f"Event{i}" for i in range(496)]  # + 2 + 2 required values = 500
    first = {"FieldSelectors": [DATA, S3_TYPE, {"Field": "eventName", "Equals": names[:248]}]}
    second = {"FieldSelectors": [DATA, S3_TYPE, {"Field": "eventName", "NotEquals": names[248:]}]}
    parse_advanced_event_selectors([first, second])
    second["FieldSelectors"][2]["NotEquals"] = [*names[248:], "Event496"]
    with pytest.raises(InvalidEventSelectors, match="use 501 values"):
        parse_advanced_event_selectors([first, second])


@pytest.mark.parametrize(
    "fields",
    [
        [{"Field": "eventCategory", "Equals": "Management"}],
        [{"Field": "eventCategory", "Equals": [1]}],
        [{"Field": 5, "Equals": ["Management"]}],
        ["eventCategory"],
    ],
)
def test_wrong_json_types_in_advanced_selectors_are_serialization_errors(fields: list[Any]) -> None:
    with pytest.raises(SerializationException):
        parse_advanced_event_selectors([{"FieldSelectors": fields}])


# -- the wire form comes back ------------------------------------------------------------------------------

basic_wire = st.fixed_dictionaries(
    {},
    optional={
        "ReadWriteType": st.sampled_from(["ReadOnly", "WriteOnly", "All"]),
        "IncludeManagementEvents": st.booleans(),
        "DataResources": st.lists(
            st.sampled_from(
                [
                    {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]},
                    {
                        "Type": "AWS::S3::Object",
                        "Values": ["arn:aws:s3:::bucket-1/", "arn:aws:s3:::bucket-2/p"],
                    },
                    {"Type": "AWS::Lambda::Function", "Values": [FUNCTION]},
                    {"Type": "AWS::DynamoDB::Table", "Values": ["arn:aws:dynamodb", TABLE]},
                ]
            ),
            max_size=3,
        ),
        "ExcludeManagementEventSources": st.sampled_from(
            [[], ["kms.amazonaws.com"], ["rdsdata.amazonaws.com", "kms.amazonaws.com"]]
        ),
    },
)
DEFAULTS = {
    "ReadWriteType": "All",
    "IncludeManagementEvents": True,
    "DataResources": [],
    "ExcludeManagementEventSources": [],
}
conditions = st.builds(
    lambda field, ops: {"Field": field, **ops},
    st.sampled_from(["eventName", "eventSource", "userIdentity.arn"]),
    st.dictionaries(
        st.sampled_from(["Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"]),
        st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3),
        min_size=1,
    ),
)
advanced_wire = st.builds(
    lambda extra, name: {
        **({"Name": name} if name is not None else {}),
        "FieldSelectors": [DATA, S3_TYPE, *extra],
    },
    st.lists(conditions, max_size=3, unique_by=lambda c: c["Field"]),
    st.none() | st.text(max_size=20),
)


@given(selectors=st.lists(basic_wire, min_size=1, max_size=5))
def test_basic_selectors_come_back_as_given_with_defaults_filled_in(selectors: list[dict[str, Any]]) -> None:
    selection = parse_event_selectors(selectors)
    assert selection.to_wire() == {"EventSelectors": [{**DEFAULTS, **s} for s in selectors]}
    assert parse_event_selectors(selection.to_wire()["EventSelectors"]) == selection


@given(selectors=st.lists(advanced_wire, min_size=1, max_size=5))
def test_advanced_selectors_come_back_as_given(selectors: list[dict[str, Any]]) -> None:
    selection = parse_advanced_event_selectors(selectors)
    wire = selection.to_wire()["AdvancedEventSelectors"]
    # Operators come back in the model's order, whatever order they were sent in.
    assert [
        {**s, "FieldSelectors": [dict(sorted(f.items())) for f in s["FieldSelectors"]]} for s in wire
    ] == [{**s, "FieldSelectors": [dict(sorted(f.items())) for f in s["FieldSelectors"]]} for s in selectors]
    assert parse_advanced_event_selectors(wire) == selection


# -- Insights selectors ------------------------------------------------------------------------------------


def test_insight_selectors_as_given() -> None:
    given = [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data", "Management"]},
    ]
    assert parse_insight_selectors(given) == [
        InsightSelector(insight_type="ApiCallRateInsight"),
        InsightSelector(insight_type="ApiErrorRateInsight", event_categories=["Data", "Management"]),
    ]
    assert parse_insight_selectors([]) == []  # Insights off


@pytest.mark.parametrize(
    ("selectors", "says"),
    [
        ([{"InsightType": "ApiCallVolumeInsight"}], "InsightSelectors[0].InsightType 'ApiCallVolumeInsight'"),
        ([{}], "InsightType None is not valid"),
        ([{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiCallRateInsight"}], "[1].InsightType"),
        ([{"InsightType": "ApiErrorRateInsight", "EventCategories": []}], "EventCategories [] is not valid"),
        ([{"InsightType": "ApiErrorRateInsight", "EventCategories": ["NetworkActivity"]}], "NetworkActivity"),
        ([{"InsightType": "ApiErrorRateInsight", "EventCategories": ["Data", "Data"]}], "distinct"),
    ],
)
def test_invalid_insight_selectors(selectors: list[dict[str, Any]], says: str) -> None:
    with pytest.raises(InvalidInsightSelectors) as info:
        parse_insight_selectors(selectors)
    assert says in info.value.message


def test_wrong_json_types_in_insight_selectors_are_serialization_errors() -> None:
    for selectors in (
        [{"InsightType": 1}],
        [{"InsightType": "ApiCallRateInsight", "EventCategories": "Data"}],
    ):
        with pytest.raises(SerializationException):
            parse_insight_selectors(selectors)


CALL_RATE = InsightSelector(insight_type="ApiCallRateInsight")
ERROR_RATE = InsightSelector(insight_type="ApiErrorRateInsight")
ON_DATA = InsightSelector(insight_type="ApiCallRateInsight", event_categories=["Data"])
WRITES = [{"ReadWriteType": "WriteOnly"}]
READS = [{"ReadWriteType": "ReadOnly"}]
DATA_ONLY = [{"IncludeManagementEvents": False, **resources("AWS::S3::Object", "arn:aws:s3")}]


@pytest.mark.parametrize(
    ("insight", "selectors", "allowed"),
    [
        (CALL_RATE, WRITES, True),
        (CALL_RATE, READS, False),  # call-rate Insights analyse write management events
        (CALL_RATE, DATA_ONLY, False),
        (ERROR_RATE, READS, True),  # error-rate Insights, read or write management events
        (ERROR_RATE, WRITES, True),
        (ERROR_RATE, DATA_ONLY, False),
        (ON_DATA, DATA_ONLY, True),  # Insights on data events need data events logged
        (ON_DATA, WRITES, False),
    ],
)
def test_insights_need_the_events_they_analyse(
    insight: InsightSelector, selectors: list[dict[str, Any]], allowed: bool
) -> None:
    selection = parse_event_selectors(selectors)
    if allowed:
        check_insight_preconditions([insight], selection, "audit")
        return
    with pytest.raises(InvalidInsightSelectors, match=f"{insight.insight_type}.* trail audit "):
        check_insight_preconditions([insight], selection, "audit")


def test_every_category_of_every_insight_is_checked() -> None:
    both = InsightSelector(insight_type="ApiErrorRateInsight", event_categories=["Management", "Data"])
    with pytest.raises(InvalidInsightSelectors, match="on Data events"):
        check_insight_preconditions([CALL_RATE, both], parse_event_selectors(WRITES), "audit")
    check_insight_preconditions([CALL_RATE, both], parse_event_selectors([*WRITES, *DATA_ONLY]), "audit")
    check_insight_preconditions([], parse_event_selectors(DATA_ONLY), "audit")  # Insights off
