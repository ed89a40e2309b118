"""The Logs API's one door to filter patterns: kinds, matches, the values a JSON pattern extracts,
and metric values read by selector."""

from __future__ import annotations

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.logs.matching import compile_filter

EVENT = '{"eventName": "ConsoleLogin", "n": 3, "ok": true, "user": {"name": "bob"}, "tags": ["a", "b"]}'


def test_kinds() -> None:
    assert compile_filter("").kind == "empty"
    assert compile_filter("ERROR ?WARN").kind == "term"
    assert compile_filter('{ $.a = "b" }').kind == "json"
    assert compile_filter("ERROR").text == "ERROR"


def test_extract_gives_the_patterns_selectors_that_hold_a_scalar() -> None:
    pattern = compile_filter('{ $.eventName = "ConsoleLogin" && ($.n > 1 || $.missing NOT EXISTS) }')
    assert pattern.extract(EVENT) == {"$.eventName": "ConsoleLogin", "$.n": "3"}
    assert pattern.extract('{"eventName": "Other"}') is None
    assert compile_filter("Login").extract(EVENT) == {}
    assert compile_filter("").extract("anything") == {}


@pytest.mark.parametrize(
    ("selector", "value"),
    [
        ("$.n", "3"),
        ("$.ok", "true"),
        ("$.user.name", "bob"),
        ("$.tags[1]", "b"),
        ("$.user", None),
        ("$.absent", None),
        ("$name", None),
        ("n", None),
    ],
)
def test_value_reads_a_scalar_by_selector(selector: str, value: str | None) -> None:
    assert compile_filter("{ $.n = 3 }").value(EVENT, selector) == value


def test_a_bad_pattern_is_refused() -> None:
    with pytest.raises(InvalidFilterPattern):
        compile_filter("{ $.a = }")
    assert compile_filter("{ $.n = 3 }").value("not json", "$.n") is None
