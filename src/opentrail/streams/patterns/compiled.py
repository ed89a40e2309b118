"""Expressions compiled once into closures over "slots": the values of the pattern's selectors, read
out of the event beforehand (``reader``), so evaluating an event is a few calls, not a tree walk.

The meaning is ``match``'s, exactly (tests hold the two to agree); only the speed differs:
- ``a = x || a = y || ...`` (CIS's lists of event names) becomes one set lookup;
- wildcards become ``startswith`` / ``endswith`` / ``in``;
- ``&&`` and ``||`` of two parts are one closure each, longer ones a loop that stops early.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from opentrail.streams.patterns import regex
from opentrail.streams.patterns.match import MISSING, ORDER, as_number, scalar_text
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    Expr,
    NumberCompare,
    RegexCompare,
    Selector,
    TextCompare,
)

Slots = Sequence[Any]
Test = Callable[[Slots], bool]
Slot = Callable[[Selector], int]


def build(expr: Expr, slot: Slot, space: bool = False) -> Test:
    """``expr`` as a closure over the slot values; ``slot`` gives a selector's index in them."""
    if isinstance(expr, AllOf):
        return _all([build(part, slot, space) for part in expr.parts])
    if isinstance(expr, AnyOf):
        return _any(expr, slot, space)
    index = slot(expr.selector)
    if isinstance(expr, Check):
        return _check(expr, index)
    if isinstance(expr, TextCompare):
        return _text(expr, index)
    if isinstance(expr, RegexCompare):
        return _regex(expr, index)
    return _number(expr, index, space)


def _all(parts: list[Test]) -> Test:
    if len(parts) == 2:
        first, second = parts
        return lambda slots: first(slots) and second(slots)

    def every(slots: Slots) -> bool:
        return all(part(slots) for part in parts)

    return every


def _any(expr: AnyOf, slot: Slot, space: bool) -> Test:
    """Plain ``=`` on one selector, however many, become one set lookup; the rest stay as they are."""
    by_slot: dict[int, set[str]] = {}
    parts: list[Test] = []
    for part in expr.parts:
        if isinstance(part, TextCompare) and not part.negated and not part.wildcard:
            by_slot.setdefault(slot(part.selector), set()).add(part.value)
        else:
            parts.append(build(part, slot, space))
    parts = [_one_of(index, frozenset(values)) for index, values in by_slot.items()] + parts
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda slots: first(slots) or second(slots)

    def some(slots: Slots) -> bool:
        return any(part(slots) for part in parts)

    return some


def _one_of(index: int, values: frozenset[str]) -> Test:
    def one_of(slots: Slots) -> bool:
        value = slots[index]
        if type(value) is str:
            return value in values
        return scalar_text(value) in values

    return one_of


def _text(compare: TextCompare, index: int) -> Test:
    matcher = _matcher(compare)
    negated = compare.negated

    def text(slots: Slots) -> bool:
        value = slots[index]
        found = value if type(value) is str else scalar_text(value)
        return found is not None and matcher(found) != negated

    return text


def _matcher(compare: TextCompare) -> Callable[[str], bool]:
    value = compare.value
    if not compare.wildcard:
        return value.__eq__
    if value == "*":
        return lambda _: True
    head, tail = value.startswith("*"), value.endswith("*")
    core = value[1 if head else 0 : len(value) - 1 if tail else len(value)]
    if head and tail:
        return lambda text: core in text
    if head:
        return lambda text: text.endswith(core)
    return lambda text: text.startswith(core)


def _regex(compare: RegexCompare, index: int) -> Test:
    search: Callable[[str], re.Match[str] | None] = regex.compiled(compare.regex).search
    negated = compare.negated

    def matches(slots: Slots) -> bool:
        text = scalar_text(slots[index])
        return text is not None and (search(text) is not None) != negated

    return matches


def _check(check: Check, index: int) -> Test:
    if check.kind == "not_exists":
        return lambda slots: slots[index] is MISSING
    if check.kind == "null":
        return lambda slots: slots[index] is None
    wanted = check.kind == "true"
    return lambda slots: slots[index] is wanted


def _number(compare: NumberCompare, index: int, space: bool) -> Test:
    order, number, text, textual = ORDER[compare.op], compare.value, compare.text, compare.op in ("=", "!=")

    def numeric(slots: Slots) -> bool:
        value = slots[index]
        kind = type(value)
        if kind is int or kind is float:
            return order(value, number)
        if kind is not str:
            return False
        if space and (parsed := as_number(value)) is not None:
            return order(parsed, number)
        return textual and order(value, text)

    return numeric
