"""Metric math for GetMetricData's ``Expression`` queries: the subset OpenTrail evaluates.

Supported: numbers, the ids of other queries, ``+ - * /`` with the usual precedence, unary minus,
parentheses, ``ABS(x)``, and ``SUM``, ``AVG``, ``MIN``, ``MAX`` over ``METRICS()`` (every MetricStat
query of the call), ``METRICS("text")`` (those whose label contains ``text``) or a list ``[m1, m2]``.
Anything else (other functions, SEARCH, Metrics Insights SQL) is refused with CloudWatch's
``ValidationError``, naming the query and what was not understood.

A time series is ``{timestamp: value}``. Between two series, arithmetic keeps the timestamps both have
(a datapoint missing on either side is missing in the result); with a number, every datapoint. A
division by zero leaves that datapoint out. SUM/AVG/MIN/MAX work per timestamp over the series that
have a value there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Union

from opentrail.streams.metrics.validation import ValidationError

__all__ = ["Expression", "Series", "parse"]

Series = dict[int, float]
Value = Union[float, Series, list[Series]]  # noqa: UP007 - a recursive alias mypy reads in this form
Resolve = Callable[[str], Series]
Labelled = Callable[[str | None], list[Series]]

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r'|(?P<text>"[^"]*")|(?P<op>[-+*/(),\[\]]))'
)
_AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": math.fsum,
    "AVG": lambda values: math.fsum(values) / len(values),
    "MIN": min,
    "MAX": max,
}
_OPERATORS: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def _tokens(text: str, where: str) -> list[tuple[str, str]]:
    found, at = [], 0
    text = text.rstrip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise ValidationError(
                f"Error in expression {where}: unexpected character at {at}: {text[at : at + 10]!r}"
            )
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    return found


@dataclass
class Expression:
    """A parsed expression: a tree of tuples, evaluated against the call's other queries."""

    where: str
    tree: tuple[object, ...]
    references: frozenset[str]

    def evaluate(self, resolve: Resolve, metrics: Labelled) -> Series:
        result = _evaluate(self.tree, resolve, metrics, self.where)
        if not isinstance(result, dict):
            raise ValidationError(f"Error in expression {self.where}: it must evaluate to one time series.")
        return result


def parse(text: str, where: str) -> Expression:
    """``text`` parsed, or ``ValidationError`` naming the query ``where`` and what is not supported."""
    parser = _Parser(_tokens(text, where), where)
    tree = parser.expression()
    if parser.at < len(parser.tokens):
        raise ValidationError(f"Error in expression {where}: unexpected {parser.tokens[parser.at][1]!r}")
    return Expression(where, tree, frozenset(parser.references))


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], where: str) -> None:
        self.tokens, self.where, self.at = tokens, where, 0
        self.references: set[str] = set()

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens) or (expected is not None and self.peek() != expected):
            raise ValidationError(
                f"Error in expression {self.where}: expected {expected or 'more'} at the end"
            )
        self.at += 1
        return self.tokens[self.at - 1]

    def expression(self) -> tuple[object, ...]:
        tree = self.term()
        while self.peek() in ("+", "-"):
            tree = ("op", self.take()[1], tree, self.term())
        return tree

    def term(self) -> tuple[object, ...]:
        tree = self.factor()
        while self.peek() in ("*", "/"):
            tree = ("op", self.take()[1], tree, self.factor())
        return tree

    def factor(self) -> tuple[object, ...]:
        kind, text = self.take()
        if text == "-":
            return ("op", "-", ("number", 0.0), self.factor())
        if kind == "number":
            return ("number", float(text))
        if text == "(":
            tree = self.expression()
            self.take(")")
            return tree
        if text == "[":
            return self.id_list()
        if kind == "name" and self.peek() == "(":
            return self.call(text)
        if kind == "name" and re.fullmatch(r"[a-z][A-Za-z0-9_]*", text):
            self.references.add(text)
            return ("id", text)
        raise ValidationError(f"Error in expression {self.where}: unsupported {text!r}")

    def id_list(self) -> tuple[object, ...]:
        names = []
        while self.peek() != "]":
            kind, text = self.take()
            if kind != "name":
                raise ValidationError(f"Error in expression {self.where}: expected a query id, got {text!r}")
            names.append(text)
            self.references.add(text)
            if self.peek() == ",":
                self.take(",")
        self.take("]")
        return ("list", tuple(names))

    def call(self, function: str) -> tuple[object, ...]:
        self.take("(")
        if function == "METRICS":
            label = self.take()[1][1:-1] if self.peek().startswith('"') else None
            self.take(")")
            return ("metrics", label)
        if function not in _AGGREGATES and function != "ABS":
            raise ValidationError(f"Error in expression {self.where}: unsupported function {function}")
        argument = self.expression()
        self.take(")")
        return ("call", function, argument)


def _evaluate(tree: tuple[object, ...], resolve: Resolve, metrics: Labelled, where: str) -> Value:
    kind = tree[0]
    if kind == "number":
        return float(tree[1])  # type: ignore[arg-type]
    if kind == "id":
        return resolve(str(tree[1]))
    if kind == "list":
        return [resolve(str(name)) for name in tree[1]]  # type: ignore[attr-defined]
    if kind == "metrics":
        return metrics(tree[1])  # type: ignore[arg-type]
    if kind == "call":
        return _call(str(tree[1]), _evaluate(tree[2], resolve, metrics, where), where)  # type: ignore[arg-type]
    left = _evaluate(tree[2], resolve, metrics, where)  # type: ignore[arg-type]
    right = _evaluate(tree[3], resolve, metrics, where)  # type: ignore[arg-type]
    return _arithmetic(_OPERATORS[str(tree[1])], left, right, where)


def _call(function: str, argument: Value, where: str) -> Value:
    if function == "ABS":
        if isinstance(argument, list):
            raise ValidationError(f"Error in expression {where}: ABS takes one time series or number")
        return abs(argument) if isinstance(argument, float) else {t: abs(x) for t, x in argument.items()}
    series: list[Series] = []
    for one in argument if isinstance(argument, list) else [argument]:
        if not isinstance(one, dict):
            raise ValidationError(f"Error in expression {where}: {function} takes time series")
        series.append(one)
    times = sorted({t for s in series for t in s})
    aggregate = _AGGREGATES[function]
    return {t: aggregate([s[t] for s in series if t in s]) for t in times}


def _arithmetic(op: Callable[[float, float], float], left: Value, right: Value, where: str) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        raise ValidationError(f"Error in expression {where}: arithmetic on a list of time series")
    if isinstance(left, float) and isinstance(right, float):
        return op(left, right)
    if isinstance(left, float) and isinstance(right, dict):
        pairs = [(t, left, x) for t, x in right.items()]
    elif isinstance(left, dict) and isinstance(right, float):
        pairs = [(t, x, right) for t, x in left.items()]
    elif isinstance(left, dict) and isinstance(right, dict):
        pairs = [(t, x, right[t]) for t, x in left.items() if t in right]
    else:
        pairs = []
    found: Series = {}
    for t, a, b in pairs:
        try:
            found[t] = op(a, b)
        except ZeroDivisionError:
            continue
    return found
