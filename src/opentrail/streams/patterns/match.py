"""Does a log event's message match a parsed filter pattern?

Term patterns look at the message text; JSON patterns decode it (msgspec) and read selectors.

Decisions where AWS's documentation is silent:
- Terms are case-sensitive substrings of the message (a quoted phrase likewise). An event matches a
  term pattern when every plain term is present, no ``-`` term is present, and, if there are ``?``
  terms, at least one of them is present.
- A JSON pattern never matches a message that is not JSON.
- A selector that resolves to nothing makes every comparison false, ``!=`` included: only
  ``NOT EXISTS`` matches a missing field (so ``$.x != "a"`` needs ``x`` to be there).
- A comparison whose selector resolves to an object or an array is false (``!=`` too).
- ``=``/``!=`` with a string compare against a JSON string; against a number, boolean or null they
  compare the value's JSON text (``true``, ``null``, ``42``). ``=``/``!=`` with a number compare a
  JSON number numerically, and a JSON string by its text (so ``$.recipientAccountId = 123456789012``
  matches CloudTrail's string account ids). ``<``, ``>``, ``<=``, ``>=`` only ever match JSON numbers.
- ``IS NULL`` is true only for an explicit JSON ``null``; ``IS TRUE``/``IS FALSE`` only for booleans.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import msgspec

from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    Expr,
    JsonPattern,
    MatchAll,
    NumberCompare,
    Pattern,
    Selector,
    TermPattern,
    TextCompare,
)

MISSING = object()
ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_decode = msgspec.json.Decoder().decode


def matches(pattern: Pattern, message: str | bytes) -> bool:
    """True when the log event ``message`` matches ``pattern``."""
    if isinstance(pattern, MatchAll):
        return True
    if isinstance(pattern, TermPattern):
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        return _terms(pattern, text)
    try:
        document = _decode(message)
    except msgspec.DecodeError:
        return False
    return evaluate(pattern, document)


def evaluate(pattern: JsonPattern, document: Any) -> bool:
    """A JSON pattern against an already decoded event (decode once, test many patterns)."""
    return _expr(pattern.expr, document)


def _terms(pattern: TermPattern, text: str) -> bool:
    optional_seen = optional_found = False
    for term in pattern.terms:
        present = term.text in text
        if term.kind == "required" and not present:
            return False
        if term.kind == "excluded" and present:
            return False
        if term.kind == "optional":
            optional_seen = True
            optional_found = optional_found or present
    return optional_found or not optional_seen


def _expr(expr: Expr, document: Any) -> bool:
    if isinstance(expr, AllOf):
        return all(_expr(part, document) for part in expr.parts)
    if isinstance(expr, AnyOf):
        return any(_expr(part, document) for part in expr.parts)
    value = resolve(expr.selector, document)
    if isinstance(expr, Check):
        return _check(expr, value)
    if value is MISSING or isinstance(value, dict | list):
        return False
    if isinstance(expr, TextCompare):
        return _text(expr, value) != expr.negated
    return _number(expr, value)


def resolve(selector: Selector, document: Any) -> Any:
    """The value ``selector`` names in ``document``, or ``MISSING``."""
    value = document
    for step in selector.steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
        elif not isinstance(value, dict) or step not in value:
            return MISSING
        value = value[step]
    return value


def _check(check: Check, value: Any) -> bool:
    if check.kind == "not_exists":
        return value is MISSING
    if check.kind == "null":
        return value is None
    return value is (check.kind == "true")


def _text(compare: TextCompare, value: Any) -> bool:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    if compare.wildcard:
        return _glob(compare.value).fullmatch(text) is not None
    return text == compare.value


def _number(compare: NumberCompare, value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        if compare.op not in ("=", "!="):
            return False
        return ORDER[compare.op](value, compare.text)
    return ORDER[compare.op](value, compare.value)


@lru_cache(maxsize=1024)
def _glob(value: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL)
