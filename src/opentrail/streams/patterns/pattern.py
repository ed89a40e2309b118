"""The filter-pattern API the logs and metric-filter parts use: ``compile_pattern`` parses a pattern
once into a ``FilterPattern`` (its tests compiled into closures), and ``PatternSet`` tests many of them
against an event, decoding its JSON once.

``extract`` gives TestMetricFilter's ``extractedValues``: for a JSON pattern every selector it reads
that holds a scalar in the event (``$.eventName``: its text, numbers and booleans as JSON writes them);
for a space-delimited pattern every field (``$user``, ``$1``); nothing for term and regex patterns.
``value`` gives a metric filter's metricValue or dimension: ``$.a.b`` is read from the event whether
or not the pattern selects it (the caller has already asked ``matches``); ``$name`` or ``$N`` is the
field of the pattern's match, so ``None`` when the event does not match.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from opentrail.errors import InvalidFilterPattern
from opentrail.streams.patterns import compiled, match, regex
from opentrail.streams.patterns.nodes import (
    AllOf,
    AnyOf,
    Expr,
    JsonPattern,
    MatchAll,
    Pattern,
    RegexCompare,
    RegexPattern,
    Selector,
    SpacePattern,
    TermPattern,
)
from opentrail.streams.patterns.parse import parse, parse_selector
from opentrail.streams.patterns.reader import SelectorReader

KINDS: dict[type, str] = {
    MatchAll: "empty",
    TermPattern: "term",
    JsonPattern: "json",
    SpacePattern: "space",
    RegexPattern: "regex",
}


class FilterPattern:
    """One parsed and compiled filter pattern."""

    def __init__(self, text: str, node: Pattern) -> None:
        self.text = text
        self.node = node
        self.kind = KINDS[type(node)]
        self.selectors: tuple[Selector, ...] = ()
        self.regexes = 0
        if isinstance(node, JsonPattern):
            self.selectors = tuple(dict.fromkeys(_selectors(node.expr)))
            self._reader = SelectorReader(self.selectors)
            self._test = self.compile(lambda s: self.selectors.index(s))
            self.regexes = sum(isinstance(leaf, RegexCompare) for leaf in _leaves(node.expr))
        elif isinstance(node, SpacePattern) and node.condition is not None:
            self.regexes = sum(isinstance(leaf, RegexCompare) for leaf in _leaves(node.condition))
        elif isinstance(node, RegexPattern):
            self.regexes = 1
            self._search = regex.compiled(node.regex).search

    def compile(self, slot: compiled.Slot) -> compiled.Test:
        """This JSON pattern's test over slot values laid out by ``slot`` (``PatternSet`` shares them)."""
        if not isinstance(self.node, JsonPattern):
            raise TypeError(f"{self.kind} patterns are not compiled over JSON slots")
        return compiled.build(self.node.expr, slot)

    def __repr__(self) -> str:
        return f"FilterPattern({self.text!r})"

    def matches(self, message: str | bytes) -> bool:
        """True when the event ``message`` matches."""
        if isinstance(self.node, JsonPattern):
            values = self._reader.values(message)
            return values is not None and self._test(values)
        return self.matches_text(_text(message))

    def matches_text(self, text: str) -> bool:
        """``matches`` for the patterns that read the text, not the JSON."""
        node = self.node
        if isinstance(node, RegexPattern):
            return self._search(text) is not None
        if isinstance(node, MatchAll | TermPattern):
            return match.matches(node, text)
        return isinstance(node, SpacePattern) and match.space_values(node, text) is not None

    def extract(self, message: str | bytes) -> dict[str, str] | None:
        """``None`` when the event does not match, else the values the pattern extracts."""
        node = self.node
        if isinstance(node, SpacePattern):
            placed = match.space_values(node, _text(message))
            return None if placed is None else placed[1]
        if not isinstance(node, JsonPattern):
            return {} if self.matches(message) else None
        values = self._reader.values(message)
        if values is None or not self._test(values):
            return None
        found = {}
        for selector, value in zip(self.selectors, values, strict=True):
            text = match.scalar_text(value)
            if text is not None and value is not None:
                found[selector.text] = text
        return found

    def value(self, message: str | bytes, selector: str) -> str | None:
        """The metric value or dimension ``selector`` names in the event, ``None`` when absent."""
        if selector.startswith(("$.", "$[")):
            try:
                path = parse_selector(selector)
                document = msgspec.json.decode(message)
            except (InvalidFilterPattern, msgspec.DecodeError):
                return None
            found = match.resolve(path, document)
            return None if found is None else match.scalar_text(found)
        if not selector.startswith("$") or not isinstance(self.node, SpacePattern):
            return None
        placed = match.space_values(self.node, _text(message))
        if placed is None:
            return None
        return placed[1].get(selector)


def compile_pattern(text: str) -> FilterPattern:
    """``text`` parsed and compiled; ``InvalidFilterPattern`` (InvalidParameterException) if it is not one."""
    return FilterPattern(text, parse(text))


class PatternSet:
    """Many patterns against one event: JSON is decoded once, into only the fields the patterns read."""

    def __init__(self, patterns: Sequence[FilterPattern]) -> None:
        self.patterns = tuple(patterns)
        selectors: dict[Selector, int] = {}
        for pattern in self.patterns:
            for selector in pattern.selectors:
                selectors.setdefault(selector, len(selectors))
        self._reader = SelectorReader(tuple(selectors))
        self._json = [
            (i, p.compile(selectors.__getitem__)) for i, p in enumerate(self.patterns) if p.kind == "json"
        ]
        self._text = [(i, p) for i, p in enumerate(self.patterns) if p.kind != "json"]

    def matching(self, message: str | bytes) -> list[int]:
        """The indexes, ascending, of the patterns ``message`` matches."""
        found: list[int] = []
        if self._json:
            values = self._reader.values(message)
            if values is not None:
                found = [index for index, test in self._json if test(values)]
        if self._text:
            text = _text(message)
            found.extend(index for index, pattern in self._text if pattern.matches_text(text))
            found.sort()
        return found


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")


def _leaves(expr: Expr) -> list[Expr]:
    if isinstance(expr, AllOf | AnyOf):
        return [leaf for part in expr.parts for leaf in _leaves(part)]
    return [expr]


def _selectors(expr: Expr) -> list[Selector]:
    return [leaf.selector for leaf in _leaves(expr) if not isinstance(leaf, AllOf | AnyOf)]
