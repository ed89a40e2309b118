"""The interface the logs and metric-filter parts consume (streams-contract.md): compile_pattern,
FilterPattern (.text, .kind, .matches, .extract, .value, .regexes) and PatternSet.matching."""

from __future__ import annotations

import json

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import FilterPattern, PatternSet, compile_pattern

EVENT = json.dumps(
    {
        "eventName": "ConsoleLogin",
        "userIdentity": {"type": "IAMUser", "userName": "alice"},
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {"MFAUsed": "No"},
        "latency": 12.5,
        "count": 3,
        "flag": True,
        "nothing": None,
        "tags": ["x", "y"],
    }
)
LINE = '10.0.0.1 - alice [07/Dec/2026:23:00:00 +0000] "GET /index.html HTTP/1.1" 404 512'


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ERROR", "term"),
        ('?"a b" -c', "term"),
        ("{ $.a = 1 }", "json"),
        ("  { $.a = 1 }", "json"),
        ("[a, ...]", "space"),
        ("%a+%", "regex"),
    ],
)
def test_kind_and_text(text: str, kind: str) -> None:
    pattern = compile_pattern(text)
    assert isinstance(pattern, FilterPattern)
    assert (pattern.kind, pattern.text) == (kind, text)


def test_compile_refuses_with_the_service_error() -> None:
    with pytest.raises(InvalidFilterPattern) as caught:
        compile_pattern("{ $.a = ")
    assert (caught.value.code, caught.value.status, caught.value.position) == (
        "InvalidParameterException",
        400,
        8,
    )


def test_extract_json_gives_the_selected_scalars_keyed_by_selector() -> None:
    pattern = compile_pattern(
        '{ $.eventName = "ConsoleLogin" && ($.latency > 10 || $.flag IS TRUE) && $.nothing IS NULL '
        "&& $.tags[1] = y && $.missing NOT EXISTS && $.userIdentity NOT EXISTS || $.count = 3 }"
    )
    assert pattern.extract(EVENT) == {
        "$.eventName": "ConsoleLogin",
        "$.latency": "12.5",
        "$.flag": "true",
        "$.tags[1]": "y",
        "$.count": "3",
    }
    assert compile_pattern('{ $.eventName = "Other" }').extract(EVENT) is None


def test_extract_other_kinds() -> None:
    assert compile_pattern("ConsoleLogin").extract(EVENT) == {}
    assert compile_pattern("%Console%").extract(EVENT) == {}
    assert compile_pattern("").extract("anything") == {}
    assert compile_pattern("Nope").extract(EVENT) is None
    assert compile_pattern("[ip, user, username, timestamp, request, status_code = 4*, bytes]").extract(
        LINE
    ) == {
        "$ip": "10.0.0.1",
        "$user": "-",
        "$username": "alice",
        "$timestamp": "07/Dec/2026:23:00:00 +0000",
        "$request": "GET /index.html HTTP/1.1",
        "$status_code": "404",
        "$bytes": "512",
    }


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("$.latency", "12.5"),
        ("$.count", "3"),
        ("$.userIdentity.userName", "alice"),
        ("$.tags[0]", "x"),
        ("$.flag", "true"),
        ("$.nothing", None),
        ("$.userIdentity", None),
        ("$.missing", None),
        ("$.tags[9]", None),
        ("$bytes", None),
        ("latency", None),
        ("$.bad selector", None),
    ],
)
def test_value_from_json(selector: str, expected: str | None) -> None:
    """Read whether or not the pattern names it: a metric filter's value need not be in its pattern."""
    assert compile_pattern('{ $.eventName = "ConsoleLogin" }').value(EVENT, selector) == expected


def test_value_from_space_delimited_fields() -> None:
    pattern = compile_pattern("[ip, ..., status_code = 4*, bytes]")
    assert pattern.value(LINE, "$bytes") == "512"
    assert pattern.value(LINE, "$ip") == "10.0.0.1"
    assert pattern.value(LINE, "$3") == "alice"
    assert pattern.value(LINE, "$9") is None
    assert pattern.value(LINE.replace(" 404 ", " 200 "), "$bytes") is None  # no match, no fields
    assert pattern.value("not json", "$.a") is None


def test_pattern_set_mixes_every_kind_and_decodes_bytes() -> None:
    patterns = [
        compile_pattern('{ $.eventName = "ConsoleLogin" }'),
        compile_pattern("ERROR"),
        compile_pattern('{ $.additionalEventData.MFAUsed != "Yes" && $.userIdentity.type = IAMUser }'),
        compile_pattern(""),
        compile_pattern("%Login%"),
        compile_pattern("[a, b]"),
        compile_pattern("{ $.eventName = Other }"),
    ]
    found = PatternSet(patterns)
    assert found.matching(EVENT) == [0, 2, 3, 4]
    assert found.matching(EVENT.encode()) == [0, 2, 3, 4]
    assert found.matching("ERROR x") == [1, 3, 5]
    assert PatternSet([]).matching(EVENT) == []
    assert PatternSet(patterns[1:2]).matching("ERROR") == [0]
