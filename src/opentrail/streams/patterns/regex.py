"""AWS's restricted regex (``%...%``), checked against the documented subset and turned into Python's.

CloudWatch Logs' "Filter pattern syntax" page (section "Supported regular expressions (regex)
syntax") allows only: ASCII letters and digits; the symbols ``: _ # = @ / ; , -``; the operators
``^ $ ? [ ] { } | \\ * + .``. Parentheses are not supported (no sub-patterns) and neither are
multi-byte characters. A standalone regex pattern is one regex; a JSON or space-delimited pattern may
hold at most ``MAX_PER_PATTERN`` (2) of them; a log group at most 5 patterns with regex (the logs part
enforces that one, from ``FilterPattern.regexes``).

Decisions where the page is silent:
- A space is allowed (AWS's own CDK emits ``%bind: address already in use%`` for ``regexValue``).
- ``\\`` may precede ``d D w W s S t n r`` (the usual classes and controls) or any ASCII punctuation,
  which then stands for itself (``\\.``, ``\\%``, ``\\(``); any other escape (``\\1``, ``\\b``,
  ``\\x41``, ``\\p{L}``) is refused, so Python-only features never leak in.
- Classes (``\\d``, ``\\w``, ``\\s``) are ASCII, as multi-byte characters are outside the language.
- The regex is searched anywhere in the text it is applied to; ``^`` and ``$`` anchor it.
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

from opentrail.errors import InvalidFilterPattern

MAX_PER_PATTERN = 2
SYMBOLS = frozenset(":_#=@/;,- ")
OPERATORS = frozenset("^$?[]{}|\\*+.")
CLASS_ESCAPES = frozenset("dDwWsStnr")


def check(body: str, offset: int) -> None:
    """Refuse ``body`` (the text between the ``%`` signs, starting at ``offset``) unless AWS allows it."""
    translate(body, offset)


def translate(body: str, offset: int = 0) -> str:
    """``body`` as Python regex source, or ``InvalidFilterPattern`` naming the first offending position."""
    if not body:
        raise InvalidFilterPattern(f"Empty regular expression at position {offset}", offset)
    out: list[str] = []
    index, in_class, class_start = 0, False, -1
    while index < len(body):
        char, position = body[index], offset + index
        if char == "\\":
            out.append(_escape(body, index, offset))
            index += 2
            continue
        if not char.isascii():
            raise InvalidFilterPattern(
                f"Multi-byte character {char!r} in a regular expression at position {position}",
                position,
            )
        if in_class:
            in_class, piece = _in_class(char, index, class_start, position)
        else:
            piece = _outside(char, position)
            if char == "[":
                in_class, class_start = True, index
        out.append(piece)
        index += 1
    if in_class:
        where = offset + class_start
        raise InvalidFilterPattern(f"Unclosed '[' in regular expression at position {where}", where)
    source = "".join(out)
    _compile(source, offset, len(body))
    return source


def compiled(body: str) -> re.Pattern[str]:
    """The Python pattern for an already checked ``body`` (cached: patterns share regexes)."""
    return _cached(body)


@lru_cache(maxsize=512)
def _cached(body: str) -> re.Pattern[str]:
    return _compile(translate(body), 0, len(body))


def _escape(body: str, index: int, offset: int) -> str:
    if index + 1 >= len(body):
        raise InvalidFilterPattern(
            f"A regular expression cannot end with '\\' (position {offset + index})", offset + index
        )
    following = body[index + 1]
    if following in CLASS_ESCAPES:
        return "\\" + following
    if following.isascii() and following.isprintable() and not following.isalnum():
        return re.escape(following)
    raise InvalidFilterPattern(
        f"Unsupported escape '\\{following}' in regular expression at position {offset + index}",
        offset + index,
    )


def _outside(char: str, position: int) -> str:
    if char in "()":
        raise InvalidFilterPattern(
            f"Parentheses are not supported in a regular expression (position {position})", position
        )
    if char in OPERATORS:
        return char
    if char.isalnum() or char in SYMBOLS:
        return re.escape(char)
    raise InvalidFilterPattern(
        f"Character {char!r} is not supported in a regular expression at position {position}", position
    )


def _in_class(char: str, index: int, class_start: int, position: int) -> tuple[bool, str]:
    """(still in the class, the Python text) for one character between ``[`` and ``]``."""
    first = index == class_start + 1
    if char == "]" and not first:
        return False, "]"
    if char == "^" and first:
        return True, "^"
    if char == "-":
        return True, "-"
    if char.isalnum():
        return True, char
    if char in SYMBOLS or char in OPERATORS:
        return True, re.escape(char)
    raise InvalidFilterPattern(
        f"Character {char!r} is not supported in a regular expression at position {position}", position
    )


def _compile(source: str, offset: int, length: int) -> re.Pattern[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" FutureWarnings: we escape, but be sure
            return re.compile(source, re.ASCII)
    except re.error as err:
        position = offset + min(err.pos or 0, length - 1)  # err.pos counts in the translated text
        raise InvalidFilterPattern(
            f"Invalid regular expression at position {position}: {err.msg}", position
        ) from None
