"""The parsed form of a filter pattern: frozen dataclasses, built by ``parse`` and read by ``match``
(the reference evaluator) and ``compiled`` (the fast one).

A pattern is one of ``MatchAll`` (the empty pattern), ``TermPattern``, ``RegexPattern``,
``JsonPattern`` or ``SpacePattern``. JSON and space-delimited patterns hold an expression: a tree of
``AllOf`` / ``AnyOf`` over leaves that each read one selector (``$.a.b`` in JSON, ``$name`` naming a
field of a space-delimited pattern)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Step = str | int
"""One step of a selector: an object key or an array index."""

Operator = Literal["=", "!=", "<", ">", "<=", ">="]
CheckKind = Literal["null", "not_exists", "true", "false"]
TermKind = Literal["required", "optional", "excluded"]


@dataclass(frozen=True, slots=True)
class Selector:
    """``$.a.b[0]``: the steps from the event's top-level value, and the text as written."""

    steps: tuple[Step, ...]
    text: str


@dataclass(frozen=True, slots=True)
class TextCompare:
    """``$.a = "x*"`` or ``$.a != x``: equality with ``*`` wildcards against a string (or a scalar's text)."""

    selector: Selector
    negated: bool
    value: str
    wildcard: bool


@dataclass(frozen=True, slots=True)
class NumberCompare:
    """``$.a > 1.5e3``: a numeric comparison against a JSON number."""

    selector: Selector
    op: Operator
    value: int | float
    text: str


@dataclass(frozen=True, slots=True)
class RegexCompare:
    """``$.a = %ab+c%`` or ``$.a != %x%``: AWS's restricted regex, searched in a scalar's text."""

    selector: Selector
    negated: bool
    regex: str


@dataclass(frozen=True, slots=True)
class Check:
    """``IS NULL``, ``NOT EXISTS``, ``IS TRUE``, ``IS FALSE``."""

    selector: Selector
    kind: CheckKind


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Expr, ...]


Expr = TextCompare | NumberCompare | RegexCompare | Check | AllOf | AnyOf


@dataclass(frozen=True, slots=True)
class JsonPattern:
    expr: Expr


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a term pattern: a word or a quoted phrase, and how it counts."""

    text: str
    kind: TermKind


@dataclass(frozen=True, slots=True)
class TermPattern:
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class RegexPattern:
    """``%regex%`` on its own: the regex is searched anywhere in the message."""

    regex: str


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a space-delimited pattern: ``name`` (``None`` for a positional field) or ``...``."""

    name: str | None
    ellipsis: bool = False


@dataclass(frozen=True, slots=True)
class SpacePattern:
    """``[ip, user, ..., status_code = 4*, bytes > 1000]``: the fields in order, and the conditions of
    every field joined by ``&&`` (``None`` when no field has one)."""

    fields: tuple[Field, ...]
    condition: Expr | None


@dataclass(frozen=True, slots=True)
class MatchAll:
    """The empty pattern: every event matches."""


Pattern = MatchAll | TermPattern | RegexPattern | JsonPattern | SpacePattern
