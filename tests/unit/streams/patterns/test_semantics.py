"""Our decisions where AWS's pages are silent (ADR 0014), pinned on both evaluators: numbers,
booleans, missing fields, wildcards, regex values, and the fields of space-delimited lines."""

from __future__ import annotations

import json

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import compile_pattern, matches, parse
from opentrail.streams.patterns.fields import split

NUMBERS = json.dumps(
    {"latency": 50, "ratio": 0.001, "big": 1.5e3, "neg": -2, "id": "123456789012", "on": False, "n": None}
)

DECISIONS = [
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
    ("{ $.on = false }", True),  # a boolean compares by its JSON text
    ("{ $.n = null }", True),
    ("{ $.n IS NULL }", True),
    ("{ $.missing != 1 }", False),  # only NOT EXISTS matches a missing field
    ('{ $.missing != "x" }', False),
    ("{ $.missing IS NULL }", False),
    ("{ $.latency NOT EXISTS }", False),
    ("{ $.latency IS NULL }", False),
    ("{ $.latency = * }", True),
    ('{ $.id = "*789*" }', True),
    ('{ $.id = "1234*9012" }', False),  # an inner * is the character itself
    ("{ $ = x }", False),  # a selector on an object never compares
    ("{ $.id = %^1234[0-9]+$% }", True),  # a regex is searched in the value's text
    ("{ $.id != %^1234% }", False),
    ("{ $.latency = %^5% }", True),  # a number's text
    ("{ $.missing != %x% }", False),
    ("{ $.id = %^1% && $.latency = %0$% }", True),
]


@pytest.mark.parametrize(("pattern", "expected"), DECISIONS)
def test_json_decisions(pattern: str, expected: bool) -> None:
    assert matches(parse(pattern), NUMBERS) is expected
    assert compile_pattern(pattern).matches(NUMBERS) is expected


def test_a_json_pattern_never_matches_text_that_is_not_json() -> None:
    assert not compile_pattern("{ $.a NOT EXISTS }").matches("[ERROR 400] BAD REQUEST")
    assert compile_pattern("{ $.a NOT EXISTS }").extract("[ERROR 400] BAD REQUEST") is None


def test_a_top_level_that_is_not_an_object_has_no_fields() -> None:
    assert compile_pattern("{ $.a NOT EXISTS }").matches("[1, 2]")
    assert compile_pattern("{ $[0] = 1 }").matches("[1, 2]")
    assert not compile_pattern("{ $.a = 1 }").matches('"text"')


def test_a_field_of_another_type_than_the_selectors_expect_is_read_all_the_same() -> None:
    """The typed fast path gives up on such events and the generic one answers."""
    pattern = compile_pattern('{ $.userIdentity.type = "Root" || $.userIdentity = "Root" }')
    assert pattern.matches('{"userIdentity": "Root"}')
    assert pattern.matches('{"userIdentity": {"type": "Root"}}')
    assert not pattern.matches('{"userIdentity": null}')
    assert not pattern.matches('{"userIdentity": ["Root"]}')


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('  x "y z" [1 2] w  ', ["x", "y z", "1 2", "w"]),
        ('"" []', ["", ""]),
        ('open "quote here', ["open", '"quote', "here"]),
        ("tab\tseparated", ["tab", "separated"]),
        ("", []),
    ],
)
def test_how_a_line_is_split_into_fields(line: str, fields: list[str]) -> None:
    assert split(line) == fields


@pytest.mark.parametrize(
    ("pattern", "line", "expected"),
    [
        ("[a, b]", "x y z", None),  # without ... the number of fields must be exact
        ("[a, ..., b]", "x y", {"$a": "x", "$b": "y"}),  # ... may take no field
        ("[..., a, ...]", "x y z", {"$a": "x", "$2": "y", "$3": "z"}),  # the leftmost ... takes fewest
        ("[..., a = y, ...]", "x y z", {"$1": "x", "$a": "y", "$3": "z"}),  # first placement that holds
        ("[a, , b]", "x y z", {"$a": "x", "$2": "y", "$b": "z"}),  # an empty field is positional
        ("[a = 2e2, b]", "200 z", {"$a": "200", "$b": "z"}),  # fields compare as numbers when they are
        ("[a != 403, b]", "abc z", {"$a": "abc", "$b": "z"}),  # and as text when not
        ("[a > 1, b]", "abc z", None),
        ("[a = %^G.T$%, b]", "GET /", {"$a": "GET", "$b": "/"}),
        ("[a, b = x || b = y && a = q]", "q y", {"$a": "q", "$b": "y"}),
    ],
)
def test_space_delimited_decisions(pattern: str, line: str, expected: dict[str, str] | None) -> None:
    assert compile_pattern(pattern).extract(line) == expected
    assert matches(parse(pattern), line) is (expected is not None)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[]", "has no fields"),
        ("[a, a]", "repeated"),
        ("[a, b = 1 && c = 2]", "'c', not a field"),
        ("[a, b", "must end with ']'"),
        ("[a > x, b]", "needs a number"),
        ("[a = !x]", "Unexpected"),
    ],
)
def test_space_delimited_refusals(pattern: str, message: str) -> None:
    with pytest.raises(InvalidFilterPattern, match=message):
        parse(pattern)
