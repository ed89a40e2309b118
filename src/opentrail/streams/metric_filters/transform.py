"""One metric filter applied to one log event: the datapoints it publishes, as CloudWatch Logs does.

A filter has a pattern and one metric transformation (the API takes a list of exactly one): the metric's
namespace and name, its ``metricValue``, a ``defaultValue``, ``dimensions`` and a ``unit``.
- An event the pattern matches publishes ``metricValue``: a number, or a field of the event (``$.a.b``
  of a JSON event, ``$name`` of a space-delimited one). A field that is missing or not a number
  publishes nothing.
- An event it does not match publishes ``defaultValue`` when the filter has one (AWS's "the value to
  emit when a filter pattern does not match a log event"), and nothing otherwise.
- Dimensions name fields of the event; an event missing one publishes nothing (CloudWatch would have no
  metric to put it in). A filter with dimensions has no ``defaultValue`` (PutMetricFilter refuses it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.patterns import FilterPattern, compile_pattern

__all__ = ["CompiledFilter", "Point", "compile_filter", "merge"]

Point = tuple[MetricKey, int, float, str]  # (metric, second, value, unit)


@dataclass(frozen=True)
class CompiledFilter:
    account: str
    region: str
    group: str
    name: str
    pattern: FilterPattern
    namespace: str
    metric: str
    value: str  # a number's text, or a selector ("$.a", "$name")
    default: float | None
    dimensions: tuple[tuple[str, str], ...]  # (dimension name, selector), sorted by name
    unit: str

    def points(self, message: str, second: int, matched: bool) -> list[Point]:
        """What this filter publishes for one event (``matched``: the pattern matched it)."""
        if not matched:
            if self.default is None:
                return []
            return [(self._key(()), second, self.default, self.unit)]
        value = self._number(message, self.value)
        if value is None:
            return []
        dims = []
        for dim, selector in self.dimensions:
            found = self.pattern.value(message, selector)
            if found is None or found == "":
                return []
            dims.append((dim, found))
        return [(self._key(tuple(dims)), second, value, self.unit)]

    def _key(self, dimensions: tuple[tuple[str, str], ...]) -> MetricKey:
        return MetricKey(self.account, self.region, self.namespace, self.metric, dimensions)

    def _number(self, message: str, text: str) -> float | None:
        if not text.startswith("$"):
            return _float(text)
        found = self.pattern.value(message, text)
        return None if found is None else _float(found)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def compile_filter(
    account: str, region: str, group: str, name: str, pattern: str, transformation: dict[str, Any]
) -> CompiledFilter:
    """A stored filter (its ``metricTransformations[0]`` as the API shapes it), ready to apply."""
    default = transformation.get("defaultValue")
    dimensions = transformation.get("dimensions") or {}
    return CompiledFilter(
        account=account,
        region=region,
        group=group,
        name=name,
        pattern=compile_pattern(pattern),
        namespace=str(transformation["metricNamespace"]),
        metric=str(transformation["metricName"]),
        value=str(transformation["metricValue"]),
        default=None if default is None else float(default),
        dimensions=tuple(sorted((str(k), str(v)) for k, v in dimensions.items())),
        unit=str(transformation.get("unit") or "None"),
    )


def merge(points: Iterable[Point]) -> list[tuple[MetricKey, Sample]]:
    """Points as one ``Sample`` per metric and second (the values kept, for percentiles)."""
    grouped: dict[tuple[MetricKey, int], list[float]] = {}
    units: dict[tuple[MetricKey, int], str] = {}
    for key, second, value, unit in points:
        grouped.setdefault((key, second), []).append(value)
        units[(key, second)] = unit
    merged = []
    for (key, second), values in grouped.items():
        merged.append(
            (
                key,
                Sample(
                    second,
                    len(values),
                    math.fsum(values),
                    min(values),
                    max(values),
                    units[(key, second)],
                    tuple(values),
                ),
            )
        )
    return merged
