"""Parsing: the tree a pattern becomes, the errors (one type, with the position), and Hypothesis runs
showing that no input raises anything but ``InvalidFilterPattern``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import parse
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    Field,
    JsonPattern,
    MatchAll,
    NumberCompare,
    RegexCompare,
    RegexPattern,
    Selector,
    SpacePattern,
    Term,
    TermPattern,
    TextCompare,
)


def test_and_binds_tighter_than_or_and_nesting_is_flattened() -> None:
    a, b, c = (TextCompare(Selector((n,), f"$.{n}"), False, "1x", False) for n in "abc")
    assert parse("{ $.a = 1x || $.b = 1x && $.c = 1x }") == JsonPattern(AnyOf((a, AllOf((b, c)))))
    assert parse("{ ($.a = 1x || $.b = 1x) && $.c = 1x }") == JsonPattern(AllOf((AnyOf((a, b)), c)))
    assert parse("{ $.a = 1x && ($.b = 1x && (($.c = 1x))) }") == JsonPattern(AllOf((a, b, c)))


def test_selectors_numbers_and_checks() -> None:
    pattern = parse("{ $.a.b[0][12].c-d >= -1.5e-3 && $.x IS NULL }")
    assert pattern == JsonPattern(
        AllOf(
            (
                NumberCompare(
                    Selector(("a", "b", 0, 12, "c-d"), "$.a.b[0][12].c-d"), ">=", -1.5e-3, "-1.5e-3"
                ),
                Check(Selector(("x",), "$.x"), "null"),
            )
        )
    )


def test_quoted_strings_take_backslash_escapes() -> None:
    pattern = parse(r'{ $.a = "say \"hi\" \\ *" }')
    assert pattern == JsonPattern(TextCompare(Selector(("a",), "$.a"), False, 'say "hi" \\ *', True))


def test_terms_and_the_empty_pattern() -> None:
    assert parse("  ") == MatchAll()
    assert parse('ERROR ?"a b" -x-y 404') == TermPattern(
        (Term("ERROR", "required"), Term("a b", "optional"), Term("x-y", "excluded"), Term("404", "required"))
    )


@pytest.mark.parametrize(
    ("pattern", "position", "message"),
    [
        ("ERROR a=b", 7, "Invalid character(s) in term 'a=b'"),
        ("ERROR (x)", 6, "Invalid character(s) in term '(x)'"),
        ('x "open', 2, "Invalid character(s) in term '\"open'"),
        ("{ $.a = }", 8, "Unexpected '}' at position 8"),
        ("{ $.a = 1", 9, "ends unexpectedly at position 9"),
        ("{ $.a = 1 } x", 12, "Unexpected 'x' at position 12"),
        ("{ $.a < abc }", 8, "Operator < needs a number, got 'abc'"),
        ('{ $.a > "1" }', 8, "Operator > needs a number"),
        ("{ $.a IS MAYBE }", 9, "Unexpected 'MAYBE' at position 9"),
        ("{ a = 1 }", 2, "Unexpected 'a' at position 2"),
        ("{ $.a = 1 && }", 13, "Unexpected '}' at position 13"),
        ("{ }", 2, "Unexpected '}' at position 2"),
        ("x" * 1025, 1024, "at most 1024 characters, got 1025"),
    ],
)
def test_errors_name_the_position(pattern: str, position: int, message: str) -> None:
    with pytest.raises(InvalidFilterPattern) as caught:
        parse(pattern)
    assert caught.value.position == position
    assert message in caught.value.message
    assert caught.value.code == "InvalidParameterException"


PIECES = st.sampled_from(
    [
        "{", "}", "(", ")", "[", "]", "$", ".", "$.a", "$.b[0]", "[1]", "=", "!=", "<", ">", "<=", ">=",
        "&&", "||", "IS", "NULL", "NOT", "EXISTS", "TRUE", "FALSE", '"', '"x y"', "\\", "*", "x*", "-",
        "?", "1", "-2.5e3", "e", "%", " ", "  ", "\t", "\n", "ERROR", "é", "\x00",
        ",", "...", "w1", "%a|b%", "%[x%", "%(%", "\\d", "+1", "{2,3}", "^", "$.",
    ]
)  # fmt: skip


def _parses_or_refuses(text: str) -> None:
    refusal: InvalidFilterPattern | None = None
    try:
        parse(text)
    except InvalidFilterPattern as err:
        refusal = err
    if refusal is not None:
        assert 0 <= refusal.position <= len(text)
        assert refusal.message


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_refused(text: str) -> None:
    _parses_or_refuses(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(PIECES, max_size=25).map("".join))
def test_pattern_shaped_text_parses_or_is_refused(text: str) -> None:
    _parses_or_refuses(text)
    _parses_or_refuses("{" + text + "}")
    _parses_or_refuses("[" + text + "]")
    _parses_or_refuses("%" + text + "%")


def test_space_delimited_and_regex_nodes() -> None:
    status = Selector(("status",), "$status")
    assert parse("[ip, , ..., status = 4* || status = %^5%]") == SpacePattern(
        (Field("ip"), Field(None), Field(None, ellipsis=True), Field("status")),
        AnyOf((TextCompare(status, False, "4*", True), RegexCompare(status, False, "^5"))),
    )
    assert parse("[a = 1, b != x]").condition == AllOf(
        (
            NumberCompare(Selector(("a",), "$a"), "=", 1, "1"),
            TextCompare(Selector(("b",), "$b"), True, "x", False),
        )
    )
    assert parse("  %a\\%b%  ") == RegexPattern("a\\%b")
