"""``--lookup-attributes`` in the AWS CLI's two forms: shorthand (quotes group, a backslash escapes, an
unquoted comma inside a value belongs to it) and JSON."""

from __future__ import annotations

import pytest

from opentrail.cli.lookup_events import lookup_attributes
from opentrail.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AttributeKey=EventName,AttributeValue=CreateTrail", {"EventName": "CreateTrail"}),
        ("AttributeKey=ResourceName,AttributeValue=a,b", {"ResourceName": "a,b"}),
        ("AttributeKey=ResourceName,AttributeValue='x=1,y'", {"ResourceName": "x=1,y"}),
        (r"AttributeKey=Username,AttributeValue=a\,b\\c", {"Username": "a,b\\c"}),
        ('{"AttributeKey": "EventId", "AttributeValue": "e-1"}', {"EventId": "e-1"}),
    ],
)
def test_both_forms_give_one_attribute(text: str, expected: dict[str, str]) -> None:
    [key] = expected
    assert lookup_attributes(text) == [{"AttributeKey": key, "AttributeValue": expected[key]}]


def test_a_json_list_gives_each_attribute() -> None:
    text = '[{"AttributeKey": "EventName", "AttributeValue": "A"}, {"AttributeKey": "ReadOnly"}]'
    assert lookup_attributes(text) == [
        {"AttributeKey": "EventName", "AttributeValue": "A"},
        {"AttributeKey": "ReadOnly"},
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Key=EventName", "takes AttributeKey=KEY,AttributeValue=VALUE, got 'Key=EventName'"),
        ("AttributeKey='EventName", "ends inside a quote or after a backslash"),
        ("{not json", "is not valid JSON"),
        ('["EventName"]', "must be an object or a list of objects"),
    ],
)
def test_a_malformed_value_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        lookup_attributes(text)
    assert message in str(raised.value)
