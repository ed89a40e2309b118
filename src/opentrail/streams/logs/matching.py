"""The one place the Logs API compiles a filter pattern (FilterLogEvents, PutMetricFilter,
TestMetricFilter).

``compile_filter`` returns what ``opentrail.streams.patterns.compile_pattern`` will return (the
interface fixed between the parts: ``text``, ``kind``, ``matches``, ``extract``, ``value``). Until that
lands it wraps the existing ``parse``/``matches``; the switch is this function's body alone.

Meanwhile: ``extract`` gives a JSON pattern's selectors that resolve to a scalar (keyed as written,
``$.eventName``) and nothing for term patterns; ``value`` reads ``$.a.b[0]`` selectors only
(space-delimited ``$name`` fields come with the patterns part).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from opentrail.streams.patterns import matches, parse
from opentrail.streams.patterns.match import MISSING, resolve
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Expr,
    JsonPattern,
    MatchAll,
    Pattern,
    Selector,
    Step,
)

_STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+)\]")


class CompiledPattern(Protocol):
    """What the Logs API uses of a compiled filter pattern."""

    @property
    def text(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def matches(self, message: str) -> bool: ...

    def extract(self, message: str) -> dict[str, str] | None: ...

    def value(self, message: str, selector: str) -> str | None: ...


def compile_filter(text: str) -> CompiledPattern:
    """``text`` compiled, or ``InvalidFilterPattern`` (InvalidParameterException)."""
    return _Wrapped(text, parse(text))


@dataclass(frozen=True)
class _Wrapped:
    text: str
    pattern: Pattern

    @property
    def kind(self) -> str:
        if isinstance(self.pattern, MatchAll):
            return "empty"
        return "json" if isinstance(self.pattern, JsonPattern) else "term"

    def matches(self, message: str) -> bool:
        return matches(self.pattern, message)

    def extract(self, message: str) -> dict[str, str] | None:
        if not matches(self.pattern, message):
            return None
        if not isinstance(self.pattern, JsonPattern):
            return {}
        document = _decoded(message)
        found: dict[str, str] = {}
        for selector in _selectors(self.pattern.expr):
            text = _scalar(resolve(selector, document))
            if text is not None:
                found[selector.text] = text
        return found

    def value(self, message: str, selector: str) -> str | None:
        steps = _steps(selector)
        if steps is None:
            return None
        return _scalar(resolve(Selector(steps, selector), _decoded(message)))


def _decoded(message: str) -> Any:
    try:
        return msgspec.json.decode(message)
    except msgspec.DecodeError:
        return MISSING


def _selectors(expr: Expr) -> Iterator[Selector]:
    if isinstance(expr, AllOf | AnyOf):
        for part in expr.parts:
            yield from _selectors(part)
    else:
        yield expr.selector


def _steps(selector: str) -> tuple[Step, ...] | None:
    """``$.a.b[0]`` as steps; None for anything else."""
    if not selector.startswith("$") or len(selector) < 3:
        return None
    rest, steps, at = selector[1:], [], 0
    while at < len(rest):
        step = _STEP.match(rest, at)
        if step is None:
            return None
        steps.append(step.group(1) if step.group(1) is not None else int(step.group(2)))
        at = step.end()
    return tuple(steps)


def _scalar(value: Any) -> str | None:
    """A resolved value's text as extractedValues and metric values show it; None for no scalar."""
    if value is MISSING or value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()
