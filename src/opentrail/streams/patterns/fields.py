"""A log line's fields for space-delimited patterns: how the line is split, and which pattern field
takes which of them.

As AWS's page says, the characters between a pair of square brackets ``[]`` or double quotes ``""``
are one field (the brackets and quotes are not part of its value); other fields are separated by
spaces. Decisions where the page is silent:
- Runs of spaces and tabs separate like one space; leading and trailing blanks are ignored.
- An unclosed ``"`` or ``[`` does not group: the field ends at the next blank as any other.
- Without ``...`` the line must have exactly as many fields as the pattern (AWS's ``[w1=ERROR, w2]``
  matches ``ERROR message`` but not ``ERROR WARN message``). ``...`` takes any number of fields,
  none included; with several, the leftmost takes as few as it can, the first placement whose
  conditions hold wins.
- Extracted values are keyed ``$name`` for named fields and ``$N`` (1-based position in the line)
  for positional fields and the fields ``...`` covers, as TestMetricFilter shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from opentrail.streams.patterns.nodes import Field

TOKEN = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')


def split(line: str) -> list[str]:
    """The fields of a log line, quotes and brackets removed."""
    found = []
    for match in TOKEN.finditer(line):
        quoted, bracketed, plain = match.groups()
        found.append(quoted if quoted is not None else bracketed if bracketed is not None else plain)
    return found


def place(
    fields: tuple[Field, ...], tokens: list[str], accept: Callable[[dict[str, str]], bool]
) -> tuple[dict[str, str], dict[str, str]] | None:
    """The named values (``name`` -> token) and extracted values (``$name``/``$N`` -> token) of the
    first placement of ``fields`` over ``tokens`` whose named values ``accept`` takes, or ``None``."""
    for spans in _placements(fields, len(tokens)):
        named: dict[str, str] = {}
        extracted: dict[str, str] = {}
        for field, (begin, end) in zip(fields, spans, strict=True):
            if field.name is not None:
                named[field.name] = tokens[begin]
                extracted["$" + field.name] = tokens[begin]
            else:
                for index in range(begin, end):
                    extracted[f"${index + 1}"] = tokens[index]
        if accept(named):
            return named, extracted
    return None


def _placements(fields: tuple[Field, ...], count: int) -> Iterator[list[tuple[int, int]]]:
    """Every way to give each field its span of token indexes ``[begin, end)``."""
    fixed = sum(1 for f in fields if not f.ellipsis)
    if fixed > count or (fixed == len(fields) and fixed != count):
        return
    yield from _spans(fields, 0, 0, count)


def _spans(fields: tuple[Field, ...], index: int, at: int, count: int) -> Iterator[list[tuple[int, int]]]:
    if index == len(fields):
        if at == count:
            yield []
        return
    field = fields[index]
    if not field.ellipsis:
        if at < count:
            for rest in _spans(fields, index + 1, at + 1, count):
                yield [(at, at + 1), *rest]
        return
    remaining_fixed = sum(1 for f in fields[index + 1 :] if not f.ellipsis)
    later_ellipsis = any(f.ellipsis for f in fields[index + 1 :])
    widths = range(count - at - remaining_fixed + 1) if later_ellipsis else [count - at - remaining_fixed]
    for width in widths:
        if width < 0:
            continue
        for rest in _spans(fields, index + 1, at + width, count):
            yield [(at, at + width), *rest]
