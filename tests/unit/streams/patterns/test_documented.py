"""The examples of AWS's filter-pattern documentation, with the events they are shown against.

Sources (CloudWatch Logs User Guide):
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
https://docs.amazonaws.cn/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html

The JSON examples (``SIMPLE``, ``COMPOUND``) and the term examples ``ERROR``, ``ERROR ARGUMENTS``,
``"INTERNAL SERVER ERROR"``, ``ERROR -ARGUMENTS`` and ``%AUTHORIZED%`` follow those pages; they were
transcribed from excerpts of the pages, so recheck them against the live pages when the whole text
is at hand. The WARN/SUCCESS events, ``?ERROR ?WARN``, ``-ERROR`` and ``OURS`` are our own cases for
documented features the pages do not spell out (exponents, IS FALSE, missing fields); they follow the
decisions in ``match``'s docstring."""

from __future__ import annotations

import json

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import matches, parse

UNSTRUCTURED = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
    "[ERROR 500] INTERNAL SERVER ERROR",
    "[WARN 429] TOO MANY REQUESTS",
    "[SUCCESS 200] AUTHORIZED REQUEST",
]

TERMS = [
    ("ERROR", [0, 1, 2, 3, 4]),
    ("ERROR ARGUMENTS", [2, 3]),
    ("?ERROR ?WARN", [0, 1, 2, 3, 4, 5]),
    ('"INTERNAL SERVER ERROR"', [4]),
    ("ERROR -ARGUMENTS", [0, 1, 4]),
    ("-ERROR", [5, 6]),
    ("", [0, 1, 2, 3, 4, 5, 6]),
    ("error", []),  # terms are case sensitive
]


@pytest.mark.parametrize(("pattern", "expected"), TERMS)
def test_term_patterns(pattern: str, expected: list[int]) -> None:
    parsed = parse(pattern)
    assert [i for i, message in enumerate(UNSTRUCTURED) if matches(parsed, message)] == expected


SIMPLE = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)

COMPOUND = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1], [2, 3]],
    }
)

JSON_CASES = [
    (SIMPLE, '{ $.eventType = "UpdateTrail" }', True),
    (SIMPLE, "{ $.sourceIPAddress != 123.123.* }", True),
    (SIMPLE, "{ $.sourceIPAddress = 111.111.* }", True),
    (SIMPLE, '{ $.arrayKey[0] = "value" }', True),
    (SIMPLE, "{ $.objectList[1].id = 2 }", True),
    (SIMPLE, "{ $.SomeObject IS NULL }", True),
    (SIMPLE, "{ $.SomeOtherObject NOT EXISTS }", True),
    (SIMPLE, "{ $.ThisFlag IS TRUE }", True),
    (COMPOUND, '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
    (COMPOUND, '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
    (
        COMPOUND,
        '{ $.user.email = "John.Stiles@example.com" || '
        "$.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }",
        True,
    ),
    (
        COMPOUND,
        '{ ($.user.email = "John.Stiles@example.com" || '
        "$.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }",
        False,
    ),
]


@pytest.mark.parametrize(("event", "pattern", "expected"), JSON_CASES)
def test_json_patterns(event: str, pattern: str, expected: bool) -> None:
    assert matches(parse(pattern), event) is expected


NUMBERS = json.dumps(
    {"latency": 50, "ratio": 0.001, "big": 1.5e3, "neg": -2, "id": "123456789012", "on": False}
)

OURS = [
    ("{ $.latency = 50 }", True),
    ("{ $.latency != 50 }", False),
    ("{ $.latency > 49.5 }", True),
    ("{ $.latency >= 50 }", True),
    ("{ $.latency < 5e1 }", False),
    ("{ $.latency <= 5E+1 }", True),
    ("{ $.ratio = 1e-3 }", True),
    ("{ $.big = 1500 }", True),
    ("{ $.neg < -1 }", True),
    ("{ $.id = 123456789012 }", True),  # CloudTrail's account ids are strings
    ("{ $.id > 1 }", False),  # ordering only on JSON numbers
    ("{ $.on IS FALSE }", True),
    ("{ $.on IS TRUE }", False),
    ("{ $.missing != 1 }", False),  # only NOT EXISTS matches a missing field
    ('{ $.missing != "x" }', False),
    ("{ $.latency NOT EXISTS }", False),
    ("{ $.latency IS NULL }", False),
    ("{ $.latency = * }", True),
    ('{ $.id = "*789*" }', True),
    ("{ $ = x }", False),  # a selector on an object never compares
]


@pytest.mark.parametrize(("pattern", "expected"), OURS)
def test_numbers_booleans_and_missing_fields(pattern: str, expected: bool) -> None:
    assert matches(parse(pattern), NUMBERS) is expected


def test_a_json_pattern_never_matches_text_that_is_not_json() -> None:
    assert not matches(parse("{ $.a NOT EXISTS }"), "[ERROR 400] BAD REQUEST")


def test_json_selector_on_an_array_or_object_is_false() -> None:
    assert not matches(parse('{ $.arrayKey = "value" }'), SIMPLE)
    assert not matches(parse('{ $.objectList[0] != "x" }'), SIMPLE)


@pytest.mark.parametrize("pattern", ["%AUTHORIZED%", "[ip, user, ...]"])
def test_regex_and_space_delimited_are_refused_as_not_supported_yet(pattern: str) -> None:
    with pytest.raises(InvalidFilterPattern, match="not supported yet"):
        parse(pattern)
