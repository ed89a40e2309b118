"""Hypothesis: the compiled evaluator (closures over typed decoding, ``FilterPattern`` and
``PatternSet``) agrees with the reference evaluator (``match``, a plain walk over the nodes on a
generically decoded event) for generated JSON patterns and events; space-delimited extraction
accounts for every field of the line; and no text makes the parser raise anything but
InvalidFilterPattern (see test_parse for the pattern-shaped text)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import PatternSet, compile_pattern, matches, parse

SELECTORS = ["$.a", "$.b", "$.b.c", "$.b.c[1]", "$.a[0]", "$.b.d.e", "$.c"]
NUMBERS = ["1", "0", "-1", "1.5", "2e0", "+1", "10E-1"]
STRINGS = ['"a"', "a*", "*b", '"*1*"', "true", "null", '"a b"', "1*", "*", '"a*b"']
REGEXES = ["^a", "b$", "a|1", "[ab]+", r"\d", "^$"]
CHECKS = ["IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE"]

selector = st.sampled_from(SELECTORS)
leaf = st.one_of(
    st.builds(
        "{} {} {}".format,
        selector,
        st.sampled_from(["=", "!=", "<", ">", "<=", ">="]),
        st.sampled_from(NUMBERS),
    ),
    st.builds("{} {} {}".format, selector, st.sampled_from(["=", "!="]), st.sampled_from(STRINGS)),
    st.builds("{} {} %{}%".format, selector, st.sampled_from(["=", "!="]), st.sampled_from(REGEXES)),
    st.builds("{} {}".format, selector, st.sampled_from(CHECKS)),
)
expression = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds("{} && {}".format, inner, inner),
        st.builds("{} || {}".format, inner, inner),
        st.builds("({})".format, inner),
    ),
    max_leaves=6,
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 12),
    st.sampled_from([1.0, 1.5, -0.5, 1e-1]),
    st.text(alphabet="ab1* ", max_size=4),
)
value: st.SearchStrategy[Any] = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), inner, max_size=4),
    ),
    max_leaves=8,
)
document = st.one_of(st.dictionaries(st.sampled_from(["a", "b", "c"]), value, max_size=3), value)


def _pattern(text: str) -> str | None:
    """The JSON pattern text, or None when it is over the quota of two regexes (which parse refuses)."""
    if text.count("%") > 4:
        with pytest.raises(InvalidFilterPattern, match="at most 2 regular expressions"):
            parse(text)
        return None
    return text


@settings(max_examples=600, deadline=None)
@given(st.builds("{{ {} }}".format, expression), document)
def test_compiled_agrees_with_the_reference(text: str, event: Any) -> None:
    if _pattern(text) is None:
        return
    message = json.dumps(event)
    expected = matches(parse(text), message)
    assert compile_pattern(text).matches(message) is expected
    assert compile_pattern(text).matches(message.encode()) is expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.builds("{{ {} }}".format, expression), min_size=1, max_size=6), document)
def test_a_pattern_set_answers_as_its_patterns_one_by_one(texts: list[str], event: Any) -> None:
    patterns = [compile_pattern(t) for t in texts if _pattern(t) is not None]
    patterns.append(compile_pattern("a"))  # a term pattern among them: the text path too
    message = json.dumps(event)
    assert PatternSet(patterns).matching(message) == [i for i, p in enumerate(patterns) if p.matches(message)]


@settings(max_examples=300, deadline=None)
@given(st.builds("{{ {} }}".format, expression), document)
def test_extracted_values_are_the_selected_scalars(text: str, event: Any) -> None:
    if _pattern(text) is None:
        return
    pattern = compile_pattern(text)
    message = json.dumps(event)
    extracted = pattern.extract(message)
    assert (extracted is not None) is pattern.matches(message)
    for key, found in (extracted or {}).items():
        assert pattern.value(message, key) == found


token = st.sampled_from(["a", "1", "200", '"x y"', "[p q]", "-", "GET"])
field = st.sampled_from(["", "...", "{n}", "{n} = 2*", "{n} > 1", "{n} != a", "{n} = %^[0-9]+$%"])


@settings(max_examples=400, deadline=None)
@given(st.lists(field, min_size=1, max_size=5), st.lists(token, max_size=7))
def test_space_delimited_extraction_accounts_for_every_field_of_the_line(
    fields: list[str], tokens: list[str]
) -> None:
    text = "[" + ", ".join(f.format(n=f"f{i}") for i, f in enumerate(fields)) + "]"
    if text.count("%") > 4 or text == "[]":
        return  # over the regex quota; "[]" is refused
    pattern = compile_pattern(text)
    line = " ".join(tokens)
    extracted = pattern.extract(line)
    if "..." not in fields and len(fields) != len(tokens):
        assert extracted is None
    if extracted is None:
        return
    assert len(extracted) == len(tokens)
    named = {key for key in extracted if not key[1:].isdigit()}
    assert named == {f"$f{i}" for i, f in enumerate(fields) if f not in ("", "...")}


VALUES = {'"x y"': "x y", "[p q]": "p q"}
CONDITIONS = {
    "{n} = 2*": lambda v: v.startswith("2"),
    "{n} > 1": lambda v: v.lstrip("+-").replace(".", "", 1).isdigit() and float(v) > 1,
    "{n} != a": lambda v: v != "a",
    "{n} = %^[0-9]+$%": lambda v: v.isdigit(),
}
one_field = st.sampled_from(["", "{n}", *CONDITIONS])


@settings(max_examples=500, deadline=None)
@given(
    st.lists(one_field, max_size=3),
    st.booleans(),
    st.lists(one_field, max_size=3),
    st.lists(token, max_size=7),
)
def test_space_delimited_agrees_with_a_direct_reading(
    before: list[str], ellipsis: bool, after: list[str], tokens: list[str]
) -> None:
    """With at most one ``...`` the placement is fixed: read the fields straight off the generated
    tokens (no splitting, no parsing) and check the conditions in plain Python."""
    fields = [*before, *(["..."] if ellipsis else []), *after]
    if not fields or fields == [""]:
        return
    text = "[" + ", ".join(f.format(n=f"f{i}") for i, f in enumerate(fields)) + "]"
    if text.count("%") > 4:
        return
    values = [VALUES.get(t, t) for t in tokens]
    expected: dict[str, str] | None = None
    fixed = len(before) + len(after)
    if (ellipsis and len(values) >= fixed) or len(values) == fixed:
        spans = list(range(len(before))) + list(range(len(values) - len(after), len(values)))
        expected = {}
        kinds = [*before, *after]
        numbers = [i if i < len(before) else i + int(ellipsis) for i in range(fixed)]  # names are f<index>
        for kind, position, number in zip(kinds, spans, numbers, strict=True):
            value = values[position]
            check = CONDITIONS.get(kind)
            if check is not None and not check(value):
                expected = None
                break
            expected["$" + str(position + 1) if kind == "" else f"$f{number}"] = value
        if expected is not None and ellipsis:
            expected.update({f"${i + 1}": values[i] for i in range(len(before), len(values) - len(after))})
    assert compile_pattern(text).extract(" ".join(tokens)) == expected
