"""Filter pattern text to ``nodes``: Lark (LALR, contextual lexer) over ``patterns.lark``.

The first non-blank character picks the kind of pattern, as CloudWatch Logs does: ``{`` a JSON
pattern, ``[`` a space-delimited pattern, ``%`` a regex, anything else a term pattern; blank is the
empty pattern. Every failure is one ``InvalidFilterPattern`` carrying the character offset.

Decisions where AWS's documentation is silent (see ``match`` for evaluation):
- An unquoted value that reads as a number (``[+-]?digits[.digits][e[+-]digits]``, AWS's NUMBER) is a
  number; any other unquoted value, and every quoted one, is a string. ``<``, ``>``, ``<=``, ``>=``
  need a number.
- Inside quotes a backslash takes the next character literally (``\\"`` is a quote). A ``*`` at the
  start or the end of a string value is a wildcard; a ``*`` inside is the character itself, as the
  JSON section of AWS's page says ("Ev*ent will only match the actual string Ev*ent").
- Keywords are upper case only (``IS NULL``, ``NOT EXISTS``, ``IS TRUE``, ``IS FALSE``), as documented.
- An unquoted term holds letters, digits and ``_ . : / @ # -`` (not first); anything else must be
  quoted, otherwise the pattern is refused with AWS's "Invalid character(s) in term" message.
- Space-delimited: fields are split at top-level commas (not inside quotes or ``%regex%``); an empty
  field (``[a,,b]``, a trailing comma as in AWS's ``[..., request=*.html*, status_code=4*,]``) is a
  positional field; a field is ``...``, a name, or conditions (``name op value`` joined by ``&&``,
  ``||`` and parentheses) whose first name names the field. A condition may name any field of the
  pattern (checked once every field is placed); an unknown name, a repeated name and ``[]`` are
  refused.
- Regex (``%...%``) is a value in JSON and space-delimited conditions, with ``=``/``!=`` only; at most
  two per pattern (AWS's quota); see ``regex`` for the subset.
- Patterns longer than 1024 characters (the API's limit) are refused before parsing.
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
from opentrail.streams.patterns import regex
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Check,
    CheckKind,
    Expr,
    Field,
    JsonPattern,
    MatchAll,
    NumberCompare,
    Operator,
    Pattern,
    RegexCompare,
    RegexPattern,
    Selector,
    SpacePattern,
    Step,
    Term,
    TermKind,
    TermPattern,
    TextCompare,
)

MAX_LENGTH = 1024
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+)\]")
SELECTOR = re.compile(r"\$(\.[^\s.\[\]()=!<>&|{}\"'%]+|\[[0-9]+\])*")
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
    if kind == "%":
        return _regex_pattern(text, start)
    if kind == "[":
        pattern: Pattern = _space_pattern(text, start)
    else:
        pattern = cast(Pattern, _run(text, "json" if kind == "{" else "terms"))
    if isinstance(pattern, JsonPattern | SpacePattern):
        _regex_quota(text, pattern)
    return pattern


def _run(text: str, start: str) -> object:
    """One Lark parse from ``start``, its failures turned into ``InvalidFilterPattern``."""
    try:
        return _parser().parse(text, start=start)
    except VisitError as err:
        if isinstance(err.orig_exc, InvalidFilterPattern):
            raise err.orig_exc from None
        raise
    except UnexpectedInput as err:
        raise _refusal(text, err, terms=start == "terms") from None


def _regex_pattern(text: str, start: int) -> RegexPattern:
    body_end = _closing_percent(text, start + 1)
    if body_end is None:
        raise InvalidFilterPattern(f"Regular expression opened at position {start} is not closed", len(text))
    if text[body_end + 1 :].strip():
        extra = body_end + 1 + (len(text[body_end + 1 :]) - len(text[body_end + 1 :].lstrip()))
        raise InvalidFilterPattern(f"Unexpected text after the regular expression at position {extra}", extra)
    body = text[start + 1 : body_end]
    regex.check(body, start + 1)
    return RegexPattern(body)


def _closing_percent(text: str, index: int) -> int | None:
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "%":
            return index
        index += 1
    return None


def _regex_quota(text: str, pattern: JsonPattern | SpacePattern) -> None:
    found = [leaf for leaf in _leaves(pattern) if isinstance(leaf, RegexCompare)]
    if len(found) > regex.MAX_PER_PATTERN:
        third = _regex_starts(text)[regex.MAX_PER_PATTERN]
        raise InvalidFilterPattern(
            f"A filter pattern may hold at most {regex.MAX_PER_PATTERN} regular expressions, "
            f"got {len(found)} (the third at position {third})",
            third,
        )


def _regex_starts(text: str) -> list[int]:
    """Where each ``%regex%`` value starts, quoted strings and escapes skipped as the lexer does."""
    starts: list[int] = []
    index, inside = 0, ""
    while index < len(text):
        char = text[index]
        if inside and char == "\\":
            index += 2
            continue
        if inside:
            inside = "" if char == inside else inside
        elif char in '"%':
            inside = char
            if char == "%":
                starts.append(index)
        index += 1
    return starts


def _leaves(pattern: JsonPattern | SpacePattern) -> Iterator[Expr]:
    stack: list[Expr] = []
    if isinstance(pattern, JsonPattern):
        stack.append(pattern.expr)
    elif pattern.condition is not None:
        stack.append(pattern.condition)
    while stack:
        expr = stack.pop()
        if isinstance(expr, AllOf | AnyOf):
            stack.extend(expr.parts)
        else:
            yield expr


def _space_pattern(text: str, start: int) -> SpacePattern:
    end = len(text.rstrip()) - 1
    if end <= start or text[end] != "]":
        raise InvalidFilterPattern(
            f"Space-delimited pattern opened at position {start} must end with ']'", len(text.rstrip())
        )
    fields: list[Field] = []
    conditions: list[tuple[Expr, int]] = []
    for piece, offset in _pieces(text, start + 1, end):
        stripped = piece.strip()
        if stripped in ("", "..."):
            fields.append(Field(None, ellipsis=bool(stripped)))
            continue
        built = _run(" " * offset + piece, "field")  # padding keeps Lark's positions the pattern's
        name = built if isinstance(built, str) else _first_name(cast(Expr, built))
        if any(f.name == name for f in fields):
            where = text.index(name, offset)
            raise InvalidFilterPattern(f"Field name {name!r} repeated at position {where}", where)
        fields.append(Field(name))
        if not isinstance(built, str):
            conditions.append((cast(Expr, built), offset))
    if len(fields) == 1 and fields[0] == Field(None) and not text[start + 1 : end].strip():
        raise InvalidFilterPattern(f"Space-delimited pattern at position {start} has no fields", start + 1)
    return SpacePattern(tuple(fields), _joined(text, fields, conditions))


def _pieces(text: str, begin: int, end: int) -> Iterator[tuple[str, int]]:
    """The fields' texts between ``begin`` and ``end`` split at commas outside quotes and regexes."""
    index, piece_start, quote = begin, begin, ""
    while index < end:
        char = text[index]
        if quote and char == "\\":
            index += 2
            continue
        if quote:
            quote = "" if char == quote else quote
        elif char in '"%':
            quote = char
        elif char == ",":
            yield text[piece_start:index], piece_start
            piece_start = index + 1
        index += 1
    yield text[piece_start:end], piece_start


def _first_name(expr: Expr) -> str:
    while isinstance(expr, AllOf | AnyOf):
        expr = expr.parts[0]
    return str(expr.selector.steps[0])


def _joined(text: str, fields: list[Field], conditions: list[tuple[Expr, int]]) -> Expr | None:
    names = {f.name for f in fields if f.name is not None}
    for condition, offset in conditions:
        for leaf in _leaves(SpacePattern((), condition)):
            name = str(cast(Check, leaf).selector.steps[0])
            if name not in names:
                where = text.index(name, offset)
                raise InvalidFilterPattern(
                    f"Condition names {name!r}, not a field of the pattern, at position {where}", where
                )
    if not conditions:
        return None
    parts = [condition for condition, _ in conditions]
    return parts[0] if len(parts) == 1 else AllOf(tuple(_flat(parts, AllOf)))


@cache
def _parser() -> Lark:
    grammar = resources.files(__package__).joinpath("patterns.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        start=["json", "terms", "field"],
        transformer=_Build(),
        maybe_placeholders=False,
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


def parse_selector(text: str) -> Selector:
    """A metric value's or dimension's JSON selector (``$.a.b[0]``), or ``InvalidFilterPattern``."""
    if not SELECTOR.fullmatch(text):
        raise InvalidFilterPattern(f"Invalid JSON selector {text!r}", 0)
    return _selector(Token("SELECTOR", text))


def _selector(token: Token) -> Selector:
    if token.type == "NAME":
        return Selector((str(token),), f"${token}")
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
        if value.type == "REGEX":
            regex.check(value[1:-1], (value.start_pos or 0) + 1)
            return RegexCompare(selector, op == "!=", str(value)[1:-1])
        text = _unquote(value) if value.type == "STRING" else str(value)
        return TextCompare(selector, op == "!=", text, text.startswith("*") or text.endswith("*"))

    def bare_field(self, children: list[Token]) -> str:
        return str(children[0])

    def condition_field(self, children: list[Expr]) -> Expr:
        return children[0]

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
