"""Metric datapoints at one-second resolution (CloudWatch's high-resolution metrics).

A metric is named by a ``MetricKey``; what is kept of it is one ``Sample`` per second: the statistic set
of every value put in that second (count, sum, minimum, maximum) and, for percentiles, the values
themselves up to a bound. Longer periods are computed from these when read
(``streams/metrics/statistics.py``), so a 10-second alarm and a one-hour GetMetricStatistics read the
same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentrail.store.tables import Tables

__all__ = ["MetricKey", "MetricTables", "Sample"]


@dataclass(frozen=True, slots=True)
class MetricKey:
    """One metric: CloudWatch names it by namespace, name and its dimensions (sorted by name)."""

    account: str
    region: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """The values put to one metric in one second (``second``: epoch seconds)."""

    second: int
    count: float
    total: float
    minimum: float
    maximum: float
    unit: str = "None"
    # The values themselves, for percentiles; empty when only a statistic set was put.
    values: tuple[float, ...] = ()


class MetricTables(Tables):
    """The metrics' tables."""
