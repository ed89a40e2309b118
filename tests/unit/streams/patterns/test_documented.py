"""The examples of AWS's filter-pattern documentation, each with the events the page shows it against.

Sources, quoted exactly (CloudWatch Logs User Guide):
- FILTER_SYNTAX: "Filter and Pattern Syntax",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html, as published in
  the guide's source (github.com/awsdocs/amazon-cloudwatch-logs-user-guide, doc_source/
  FilterAndPatternSyntax.md, commit 1487b9496d8366bf7039a1efbeeb3a0702b42c50): terms, OR matching in
  terms / space-delimited / JSON, the JSON examples, compound conditions, numeric comparisons, the
  space-delimited examples and the extracted-fields example.
- UNSTRUCTURED_TERMS: "Using filter patterns to match terms in unstructured log events",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-unstructured-log-events.html:
  ``ERROR`` (matching "[ERROR 400] BAD REQUEST", "[ERROR 401] UNAUTHORIZED REQUEST", "[ERROR 419]
  MISSING ARGUMENTS", ...), ``ERROR ARGUMENTS`` ("[ERROR 419] MISSING ARGUMENTS", "[ERROR 420]
  INVALID ARGUMENTS") and the phrase ``"INTERNAL SERVER ERROR"``.
- REGEX_SYNTAX: "Supported regular expressions (regex) syntax",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html (and the same
  section of the current FilterAndPatternSyntax.html): ``%AUTHORIZED%``, the IP and error/fail
  examples, ``%something!%`` and the operator examples.

Where a page is inconsistent the test says so and follows the page's intent (see ADR 0014)."""

from __future__ import annotations

import json

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import compile_pattern, matches, parse

FILTER_SYNTAX = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"
REGEX_SYNTAX = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html"


def which(pattern: str, events: list[str]) -> list[int]:
    """1-based numbers of the events the pattern matches (the pages number their examples from 1)."""
    compiled = compile_pattern(pattern)
    found = [n for n, event in enumerate(events, 1) if compiled.matches(event)]
    assert found == [n for n, event in enumerate(events, 1) if matches(parse(pattern), event)]
    return found


# -- terms (FILTER_SYNTAX, "Matching Terms in Log Events") ----------------------------------------
EXAMPLE_1 = ["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"]
EXAMPLE_3 = ["[ERROR] Caught IllegalArgumentException", "[ERROR] Unhandled Exception"]
PHRASES = [
    "[WARN] Failed to process the request",
    "[ERROR] Unable to continue: Failed to process the request",
]
OR_EVENTS = ["ERROR WARN message", "ERROR message", "WARN message"]


@pytest.mark.parametrize(
    ("pattern", "events", "expected"),
    [
        ('"ERROR"', EXAMPLE_1, [1, 2]),  # Example 1: single term
        ('"ERROR" - "Exiting"', EXAMPLE_1, [1]),  # Example 2: include a term and exclude a term
        ('"ERROR" -"Exiting"', EXAMPLE_1, [1]),
        ("ERROR Exception", EXAMPLE_3, [1, 2]),  # Example 3: multiple terms
        ("Failed to process the request", PHRASES, [1, 2]),
        ("ERROR", OR_EVENTS, [1, 2]),  # "OR Pattern Matching"
        ("?ERROR ?WARN", OR_EVENTS, [1, 2, 3]),
        ("ERROR WARN", OR_EVENTS, [1]),
        ("ERROR -WARN", OR_EVENTS, [2]),
        ("error", OR_EVENTS, []),  # "Metric filters are case sensitive"
        ("", OR_EVENTS, [1, 2, 3]),
    ],
)
def test_term_examples(pattern: str, events: list[str], expected: list[int]) -> None:
    assert which(pattern, events) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[w1=ERROR, w2]", [2]),
        ("[w1=ERROR || w1=WARN, w2]", [2, 3]),
        # The page prints "[w1=!ERROR&&w1=!WARN, w2]" and says it matches line 1; a two-field pattern
        # cannot match a three-field line, and "=!" is no operator. Our reading, with "!=": nothing.
        ("[w1!=ERROR&&w1!=WARN, w2]", []),
        ("[w1!=ERROR&&w1!=WARN, ...]", []),
        ("[w1=ERROR, ...]", [1, 2]),
    ],
)
def test_or_in_space_delimited_examples(pattern: str, expected: list[int]) -> None:
    assert which(pattern, OR_EVENTS) == expected


def test_or_in_json_examples() -> None:
    events = ['{"foo": "bar"}', '{"foo": "baz"}']
    assert which("{$.foo = bar}", events) == [1]
    assert which("{$.foo = baz }", events) == [2]
    assert which("{$.foo = bar || $.foo = baz }", events) == [1, 2]


# -- JSON (FILTER_SYNTAX, "JSON Metric Filter Examples", "JSON Compound Conditions") ---------------
SIMPLE = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    },
    indent=2,
)
COMPOUND = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    },
    indent=4,
)


@pytest.mark.parametrize(
    ("event", "pattern", "expected"),
    [
        (SIMPLE, '{ $.eventType = "UpdateTrail" }', True),
        (SIMPLE, "{ $.sourceIPAddress != 123.123.* }", True),
        (SIMPLE, '{ $.arrayKey[0] = "value" }', True),
        (SIMPLE, "{ $.objectList[1].id = 2 }", True),
        (SIMPLE, "{ $.SomeObject IS NULL }", True),
        (SIMPLE, "{ $.SomeOtherObject NOT EXISTS }", True),
        (SIMPLE, "{ $.ThisFlag IS TRUE }", True),
        (
            SIMPLE,
            "{ $.ThisFlag IS FALSE }",
            False,
        ),  # "This also works for boolean filters which check for FALSE"
        (COMPOUND, '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        (COMPOUND, '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            COMPOUND,
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch '
            "&& $.actions[2] = nomatch }",
            True,
        ),
        (
            COMPOUND,
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
            "&& $.actions[2] = nomatch }",
            False,
        ),
        # "JSON Special Considerations": a selector on an array fails both = and !=
        ('{\n  "users": [1, 2, 3]\n}', "{$.users = 1}", False),
        ('{\n  "users": [1, 2, 3]\n}', "{$.users != 1}", False),
    ],
)
def test_json_examples(event: str, pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(event) is expected
    assert matches(parse(pattern), event) is expected


@pytest.mark.parametrize(
    ("value", "matching", "other"),
    [
        ("*Event", ["PutEvent", "GetEvent"], ["EventId", "Ev*ent"]),
        ("Event*", ["EventId", "EventName"], ["PutEvent"]),
        ("Ev*ent", ["Ev*ent"], ["Event", "EvXent"]),  # "will only match the actual string Ev*ent"
    ],
)
def test_string_wildcard_examples(value: str, matching: list[str], other: list[str]) -> None:
    pattern = compile_pattern(f'{{ $.name = "{value}" }}')
    for name in matching:
        assert pattern.matches(json.dumps({"name": name})), name
    for name in other:
        assert not pattern.matches(json.dumps({"name": name})), name


NUMERIC_EXAMPLES = [
    "{ $.latency >= 500 }",
    "{ $.numbers[0] < 10e3 }",
    "{ $.numbers[0] < 10e-3 }",
    "{ $.processes[4].averageRuntime <= 55.5 }",
    "{ $.errorCode = 400 }",
    "{ $.errorCode != 500 }",
    "{ $.latency > +1000 }",
]


def test_numeric_comparison_examples() -> None:
    """The page gives the patterns without events; this event is ours, one field per example."""
    event = json.dumps(
        {
            "latency": 1500,
            "numbers": [0.001],
            "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}],
            "errorCode": 400,
        }
    )
    assert [compile_pattern(p).matches(event) for p in NUMERIC_EXAMPLES] == [
        True,
        True,
        True,
        True,
        True,
        True,
        True,
    ]
    assert compile_pattern("{ $.latency > +1000 }").extract(event) == {"$.latency": "1500"}


def test_publishing_a_numeric_value_example() -> None:
    """``metricFilter: { $.latency = * } metricValue: $.latency`` ("Publishing Numerical Values")."""
    pattern = compile_pattern("{ $.latency = * }")
    event = '{"latency": 42, "path": "/"}'
    assert pattern.matches(event)
    assert pattern.value(event, "$.latency") == "42"
    assert not pattern.matches('{"path": "/"}')


# -- space-delimited (FILTER_SYNTAX, "Using Metric Filters to Extract Values from Space-Delimited Log Events")
APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
]
OURS_404 = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /index.html HTTP/1.0" 404 2326'


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", [1, 2, 3, 4]),
        ("[..., status_code, bytes]", [1, 2, 3, 4]),
        ("[ip, user, ..., status_code, bytes]", [1, 2, 3, 4]),
        ("[ip, user, ...]", [1, 2, 3, 4]),
        ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", [1, 2, 3, 4]),
        ("[ip, user, username, timestamp, request, status_code = 200, bytes]", [1, 3]),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", [4]),
        ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", [4]),
        ("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", [4]),
        ('[ip, user, username, timestamp, request = "GET*", status_code = 4*, bytes > 1000]', [4]),
        ("[ip, user, username, timestamp, request, status_code, bytes < 5000 && bytes >= 1534]", [1, 3, 4]),
        ("[ip, user, username, timestamp, request, status_code = 5* || bytes < 2000, bytes]", [1, 2]),
    ],
)
def test_space_delimited_examples(pattern: str, expected: list[int]) -> None:
    """The page's three lines, and a 404 line of ours so the 4* conditions have something to find."""
    assert which(pattern, [*APACHE, OURS_404]) == expected


def test_space_delimited_example_naming_an_absent_field_is_refused() -> None:
    """The page's ``[..., status_code = 4* && bytes > 1000]`` has no ``bytes`` field (a comma is
    missing); we refuse a condition on a field the pattern does not have, naming it."""
    text = "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]"
    with pytest.raises(InvalidFilterPattern, match="'bytes', not a field") as caught:
        parse(text)
    assert text[caught.value.position :].startswith("bytes > 1000")


def test_extracted_fields_example() -> None:
    """The page's event prints its quotes as ``\\"`` and its ``$request`` as
    ``GET /products/index.html HTTP/1.0``, which is not in the event: we hold to the event."""
    pattern = compile_pattern("[..., request=*.html*, status_code=4*,]")
    event = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
    assert pattern.extract(event) == {
        "$status_code": "404",
        "$request": "GET /index.html HTTP/1.0",
        "$7": "1534",
        "$4": "10/Oct/2000:13:25:15 -0700",
        "$3": "frank",
        "$2": "-",
        "$1": "127.0.0.1",
    }
    assert pattern.value(event, "$status_code") == "404"
    assert pattern.value(event, "$7") == "1534"


# -- regex (REGEX_SYNTAX) ------------------------------------------------------------------------
UNSTRUCTURED = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
    "[ERROR 500] INTERNAL SERVER ERROR",
    "[SUCCESS 200] AUTHORIZED REQUEST",
]


@pytest.mark.parametrize(
    ("pattern", "events", "expected"),
    [
        ("%AUTHORIZED%", UNSTRUCTURED, [2, 6]),
        (r"%\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}%", ["from 10.0.12.255 ok", "from 10.0.12 ok"], [1]),
        ("%[Ee]rror|[Ff]ail%", ["Error", "error", "Fail", "fail", "ERROR", "FAIL", "ok"], [1, 2, 3, 4]),
        ("%^[hc]at%", ["hat", "cat", "bat", "a hat"], [1, 2]),
        ("%[hc]at$%", ["hat", "cat", "hats", "a cat"], [1, 2, 4]),
        ("%colou?r%", ["color", "colour", "colouur"], [1, 2]),
        ("%[abc]%", ["a", "b", "c", "d"], [1, 2, 3]),
        ("%[a-z]%", ["q", "Q", "7"], [1]),
        ("%[abcx-z]%", ["a", "b", "c", "x", "y", "z", "d", "w"], [1, 2, 3, 4, 5, 6]),
        ("%^a{3,5}$%", ["aa", "aaa", "aaaa", "aaaaa", "aaaaaa"], [2, 3, 4]),
    ],
)
def test_regex_examples(pattern: str, events: list[str], expected: list[int]) -> None:
    """``%^a{3,5}$%`` is anchored here: the page's ``%a{3,5}%`` "only matches aaa, aaaa, aaaaa"
    describes the repetition; searched in a longer run of a's it is found too."""
    assert which(pattern, events) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("ERROR", [1, 2, 3, 4, 5]), ("ERROR ARGUMENTS", [3, 4]), ('"INTERNAL SERVER ERROR"', [5])],
)
def test_unstructured_term_examples(pattern: str, expected: list[int]) -> None:
    """UNSTRUCTURED_TERMS, over the events that page and REGEX_SYNTAX show."""
    assert which(pattern, UNSTRUCTURED) == expected


def test_regex_with_an_unsupported_character_is_refused() -> None:
    """The page: "%something!% would be rejected since '!' is not supported"."""
    with pytest.raises(InvalidFilterPattern, match="'!' is not supported") as caught:
        parse("%something!%")
    assert caught.value.position == 10


def test_regex_parentheses_are_refused() -> None:
    """The page: "The ( and ) operators are not supported"."""
    with pytest.raises(InvalidFilterPattern, match="Parentheses") as caught:
        parse("%(ab)+%")
    assert caught.value.position == 1
