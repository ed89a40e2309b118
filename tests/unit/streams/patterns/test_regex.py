"""``%regex%``: AWS's subset (REGEX_SYNTAX in test_documented) accepted, everything else refused with
the position of the first offending character, and the quota of two regexes per pattern."""

from __future__ import annotations

import re

import pytest

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import compile_pattern, parse
from opentrail.streams.patterns.nodes import RegexPattern
from opentrail.streams.patterns.regex import translate


@pytest.mark.parametrize(
    "body",
    [
        "abc",
        "a:b_c#d=e@f/g;h,i-j",  # every documented symbol
        r"^\d+\.\d*$",
        r"[^a-z0-9_]{2,}?",
        r"x|y|z",
        r"\w\W\s\S\D\t\n\r",
        r"\%\(\)\!\"",  # escaped punctuation stands for itself
        "bind: address already in use",  # a space (as AWS's CDK emits)
        "a{3}b{1,}c{2,4}",
        r"[\]\[]",
    ],
)
def test_the_documented_subset_is_accepted(body: str) -> None:
    assert parse(f"%{body}%") == RegexPattern(body)


@pytest.mark.parametrize(
    ("pattern", "position", "message"),
    [
        ("%ab(c)%", 3, "Parentheses"),
        ("%a)%", 2, "Parentheses"),
        ("%héllo%", 2, "Multi-byte"),
        ("%a!b%", 2, "'!' is not supported"),
        ("%a'b%", 2, "is not supported"),
        ("%a&b%", 2, "is not supported"),
        (r"%\1%", 1, r"Unsupported escape '\1'"),
        (r"%\bword%", 1, r"Unsupported escape '\b'"),
        (r"%\x41%", 1, r"Unsupported escape '\x'"),
        (r"%\p{L}%", 1, r"Unsupported escape '\p'"),
        ("%abc\\%", 6, "is not closed"),
        ("%[abc%", 1, "Unclosed '['"),
        ("%*a%", 1, "Invalid regular expression"),
        ("%a**%", 3, "Invalid regular expression"),
        ("%%", 1, "Empty regular expression"),
        ("%abc", 4, "is not closed"),
        ("%abc% x", 6, "Unexpected text after"),
        ("{ $.a = %x(% }", 10, "Parentheses"),
        ("[a = %é%, b]", 6, "Multi-byte"),
    ],
)
def test_the_rest_is_refused_with_its_position(pattern: str, position: int, message: str) -> None:
    with pytest.raises(InvalidFilterPattern, match=re.escape(message)) as caught:
        parse(pattern)
    assert caught.value.position == position
    assert caught.value.code == "InvalidParameterException"


def test_two_regexes_per_pattern_at_most() -> None:
    """AWS: "There is a limit of 2 regex for each filter pattern when creating a delimited or JSON
    filter pattern"."""
    assert compile_pattern("{ $.a = %x% && $.b != %y% }").regexes == 2
    assert compile_pattern("[a = %x%, b = %y%]").regexes == 2
    assert compile_pattern("%x%").regexes == 1
    assert compile_pattern('{ $.a = "x" }').regexes == 0
    text = "{ $.a = %x% || $.b = %y% || $.c = %z% }"
    with pytest.raises(InvalidFilterPattern, match="at most 2 regular expressions, got 3") as caught:
        parse(text)
    assert caught.value.position == text.index("%z%")


def test_python_only_meanings_do_not_leak() -> None:
    """Classes are ASCII (multi-byte characters are outside AWS's language), and a symbol that
    means something to Python's re inside a class is escaped."""
    assert not compile_pattern(r"%^\w+$%").matches("héllo")
    assert compile_pattern(r"%^\w+$%").matches("hello_1")
    assert compile_pattern("%[a-c|]%").matches("|")
    assert translate("a.b") == r"a.b"
    assert compile_pattern("%a.b%").matches("axb")
    assert compile_pattern(r"%a\.b%").matches("a.b")
    assert not compile_pattern(r"%a\.b%").matches("axb")


def test_the_quota_names_the_third_regex_past_quoted_percent_signs() -> None:
    text = r'{ $.p = "50%" && $.a = %x\%% && $.b = %y% && $.c = %z% }'
    with pytest.raises(InvalidFilterPattern, match="got 3") as caught:
        parse(text)
    assert caught.value.position == text.index("%z%")
