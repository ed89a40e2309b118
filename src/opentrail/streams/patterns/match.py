"""Does a log event's message match a parsed filter pattern? The reference evaluator: it walks the
nodes for every event, plainly; ``compiled`` is the fast one, and tests hold the two to agree.

Term and regex patterns look at the message text; JSON patterns decode it (msgspec) and read
selectors; space-delimited patterns split it into fields (``fields``) and read those.

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
- A ``*`` wildcard at the start of a value matches any text before, at the end any text after; ``*``
  alone matches any scalar (the empty string too).
- A regex value is searched in the scalar's text (``%^x%`` anchors it); ``!=`` is its negation, and
  like every comparison it is false on a missing field, an object or an array.
- Space-delimited fields are always text: a numeric comparison reads the field as a number (AWS's
  NUMBER syntax) and is false when it is not one, except ``=``/``!=``, which then compare the text.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import msgspec

from opentrail.streams.patterns import fields, regex
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    Expr,
    JsonPattern,
    MatchAll,
    NumberCompare,
    Pattern,
    RegexCompare,
    RegexPattern,
    Selector,
    SpacePattern,
    TermPattern,
    TextCompare,
)

MISSING: Any = msgspec.UNSET
"""What a selector that names nothing resolves to (msgspec's UNSET, so typed decoding shares it)."""
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
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
    if not isinstance(pattern, JsonPattern):
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        if isinstance(pattern, TermPattern):
            return _terms(pattern, text)
        if isinstance(pattern, RegexPattern):
            return regex.compiled(pattern.regex).search(text) is not None
        return space_values(pattern, text) is not None
    try:
        document = _decode(message)
    except msgspec.DecodeError:
        return False
    return evaluate(pattern, document)


def evaluate(pattern: JsonPattern, document: Any) -> bool:
    """A JSON pattern against an already decoded event (decode once, test many patterns)."""
    return _expr(pattern.expr, document, False)


def space_values(pattern: SpacePattern, text: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The named and extracted values of a space-delimited pattern's match, or ``None``."""
    condition = pattern.condition
    return fields.place(
        pattern.fields,
        fields.split(text),
        lambda named: condition is None or _expr(condition, named, True),
    )


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as text (a string itself, others their JSON text); ``None`` for the rest."""
    if isinstance(value, str):
        return value
    if value is MISSING or isinstance(value, dict | list):
        return None
    return msgspec.json.encode(value).decode()


def wildcard(value: str, text: str) -> bool:
    """``value``'s leading and trailing ``*`` match any text; a ``*`` inside is itself."""
    if value == "*":
        return True
    head, tail = value.startswith("*"), value.endswith("*")
    core = value[1 if head else 0 : len(value) - 1 if tail else len(value)]
    if head and tail:
        return core in text
    if head:
        return text.endswith(core)
    if tail:
        return text.startswith(core)
    return text == core


def as_number(text: str) -> int | float | None:
    """A space-delimited field's number, when its text is one."""
    if not NUMBER.fullmatch(text):
        return None
    return float(text) if re.search(r"[.eE]", text) else int(text)


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


def _expr(expr: Expr, document: Any, space: bool) -> bool:
    if isinstance(expr, AllOf):
        return all(_expr(part, document, space) for part in expr.parts)
    if isinstance(expr, AnyOf):
        return any(_expr(part, document, space) for part in expr.parts)
    value = resolve(expr.selector, document)
    if isinstance(expr, Check):
        return _check(expr, value)
    text = scalar_text(value)
    if text is None:
        return False
    if isinstance(expr, TextCompare):
        return _text(expr, text) != expr.negated
    if isinstance(expr, RegexCompare):
        return (regex.compiled(expr.regex).search(text) is not None) != expr.negated
    if space:
        number = as_number(text)
        return _number(expr, text if number is None else number)
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


def _text(compare: TextCompare, text: str) -> bool:
    if compare.wildcard:
        return wildcard(compare.value, text)
    return text == compare.value


def _number(compare: NumberCompare, value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        if compare.op not in ("=", "!="):
            return False
        return ORDER[compare.op](value, compare.text)
    return ORDER[compare.op](value, compare.value)
