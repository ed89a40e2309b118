"""Filter pattern text to ``nodes``: Lark (LALR, contextual lexer) over ``patterns.lark``.

The first non-blank character picks the kind of pattern, as CloudWatch Logs does: ``{`` a JSON
pattern, ``[`` a space-delimited pattern, ``%`` a regex, anything else a term pattern; blank is the
empty pattern. Every failure is one ``InvalidFilterPattern`` carrying the character offset.

Decisions where AWS's documentation is silent (see ``match`` for evaluation):
- An unquoted value that reads as a number (``-?digits[.digits][e[+-]digits]``) is a number; any
  other unquoted value, and every quoted one, is a string. ``<``, ``>``, ``<=``, ``>=`` need a number.
- Inside quotes a backslash takes the next character literally (``\\"`` is a quote). Every ``*`` in
  a string value is a wildcard (AWS documents leading and trailing ones; inner ones match too).
- Keywords are upper case only (``IS NULL``, ``NOT EXISTS``, ``IS TRUE``, ``IS FALSE``), as documented.
- An unquoted term holds letters, digits and ``_ . : / @ # -`` (not first); anything else must be
  quoted, otherwise the pattern is refused with AWS's "Invalid character(s) in term" message.
- Patterns longer than 1024 characters (the API's limit) are refused before parsing.

Not yet: space-delimited patterns and ``%regex%`` are refused with a message saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedInput, VisitError

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    CheckKind,
    Expr,
    JsonPattern,
    MatchAll,
    NumberCompare,
    Operator,
    Pattern,
    Selector,
    Step,
    Term,
    TermKind,
    TermPattern,
    TextCompare,
)

MAX_LENGTH = 1024
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+)\]")
TERM_KINDS: dict[str, TermKind] = {"?": "optional", "-": "excluded"}


def parse(text: str) -> Pattern:
    """The parsed pattern, or ``InvalidFilterPattern`` naming where ``text`` goes wrong."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilterPattern(
            f"Filter pattern must be at most {MAX_LENGTH} characters, got {len(text)}", MAX_LENGTH
        )
    stripped = text.lstrip()
    if not stripped:
        return MatchAll()
    start = len(text) - len(stripped)
    kind = stripped[0]
    if kind in "[%":
        name = "Space-delimited" if kind == "[" else "Regular expression"
        raise InvalidFilterPattern(f"{name} filter patterns are not supported yet (position {start})", start)
    try:
        tree = _parser().parse(text, start="json" if kind == "{" else "terms")
    except VisitError as err:
        if isinstance(err.orig_exc, InvalidFilterPattern):
            raise err.orig_exc from None
        raise
    except UnexpectedInput as err:
        raise _refusal(text, err, terms=kind != "{") from None
    return cast(Pattern, tree)


@cache
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("patterns.lark").read_text(encoding="utf-8")
    return Lark(
        grammar, parser="lalr", start=["json", "terms"], transformer=_Build(), maybe_placeholders=False
    )


def _refusal(text: str, err: UnexpectedInput, terms: bool) -> InvalidFilterPattern:
    token = getattr(err, "token", None)
    if isinstance(token, Token) and token.type == "$END":
        return InvalidFilterPattern(f"Filter pattern ends unexpectedly at position {len(text)}", len(text))
    position = err.pos_in_stream if err.pos_in_stream is not None else len(text)
    if terms:
        begin = max(text.rfind(" ", 0, position), text.rfind("\t", 0, position)) + 1
        end = len(text) if (stop := re.compile(r"\s").search(text, position)) is None else stop.start()
        return InvalidFilterPattern(f"Invalid character(s) in term '{text[begin:end]}'", position)
    found = repr(str(token)) if isinstance(token, Token) else repr(text[position : position + 1])
    return InvalidFilterPattern(f"Unexpected {found} at position {position} in filter pattern", position)


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1], flags=re.DOTALL)


def _selector(token: Token) -> Selector:
    steps: list[Step] = []
    for key, index in STEP.findall(str(token)[1:]):
        steps.append(key if key else int(index))
    return Selector(tuple(steps), str(token))


class _Build(Transformer[Token, object]):
    """Builds ``nodes`` as the LALR parser reduces (no intermediate tree)."""

    def json(self, children: list[Expr]) -> JsonPattern:
        return JsonPattern(children[0])

    def any_of(self, children: list[Expr]) -> Expr:
        return children[0] if len(children) == 1 else AnyOf(tuple(_flat(children, AnyOf)))

    def all_of(self, children: list[Expr]) -> Expr:
        return children[0] if len(children) == 1 else AllOf(tuple(_flat(children, AllOf)))

    def comparison(self, children: list[Token]) -> Expr:
        selector, op, value = _selector(children[0]), cast(Operator, str(children[1])), children[2]
        if value.type == "BARE" and NUMBER.fullmatch(value):
            number = float(value) if re.search(r"[.eE]", value) else int(value)
            return NumberCompare(selector, op, number, str(value))
        if op not in ("=", "!="):
            raise InvalidFilterPattern(
                f"Operator {op} needs a number, got {str(value)!r} at position {value.start_pos}",
                value.start_pos or 0,
            )
        text = _unquote(value) if value.type == "STRING" else str(value)
        return TextCompare(selector, op == "!=", text, "*" in text)

    def _check(self, children: list[Token], kind: CheckKind) -> Check:
        return Check(_selector(children[0]), kind)

    def is_null(self, children: list[Token]) -> Check:
        return self._check(children, "null")

    def not_exists(self, children: list[Token]) -> Check:
        return self._check(children, "not_exists")

    def is_true(self, children: list[Token]) -> Check:
        return self._check(children, "true")

    def is_false(self, children: list[Token]) -> Check:
        return self._check(children, "false")

    def terms(self, children: list[Term]) -> Pattern:
        return TermPattern(tuple(children)) if children else MatchAll()

    def term(self, children: list[Token]) -> Term:
        kind: TermKind = TERM_KINDS[children[0]] if children[0].type == "PREFIX" else "required"
        word = children[-1]
        return Term(_unquote(word) if word.type == "STRING" else str(word), kind)


def _flat(children: list[Expr], kind: type[AllOf] | type[AnyOf]) -> Iterator[Expr]:
    """``a && (b && c)`` is one ``AllOf`` of three: same meaning, shallower tree."""
    for child in children:
        if isinstance(child, kind):
            yield from child.parts
        else:
            yield child
