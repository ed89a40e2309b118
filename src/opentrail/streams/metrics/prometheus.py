"""Metric filters' metrics on ``GET /metrics``, for Prometheus and Grafana users without CloudWatch.

At each scrape, every metric a metric filter publishes to (its account, region, namespace and name,
with whatever dimensions its datapoints carry) is read from the store over the last whole minute,
``[now - 60, now)``, and exported as two gauges:

    opentrail_metric_filter_sum{account, region, namespace, metric_name, dimension_<name>...}
    opentrail_metric_filter_count{...}

Gauges over a closing window, not counters: the store is the one source of truth, so every node of a
cluster exports the same values, and nothing resets when a process restarts (``sum / count`` is the
minute's average; a Prometheus ``sum_over_time`` gives longer windows). Cardinality is bounded: only
metric filters' metrics (never PutMetricData's), at most ``MAX_SERIES`` metrics per scrape (the rest are
counted in ``opentrail_metric_filter_series_dropped``), dimensions named ``dimension_<name>`` with the
name reduced to ``[a-zA-Z0-9_]``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from opentrail.clock import Clock
from opentrail.errors import StoreError
from opentrail.store.metrics import MetricKey, Sample

if TYPE_CHECKING:
    from opentrail.store import Store

__all__ = ["MAX_SERIES", "MetricFilterCollector", "Target", "filter_targets"]

log = logging.getLogger("opentrail")

MAX_SERIES = 1000
WINDOW = 60
Target = tuple[str, str, str, str]  # account, region, namespace, metric name


def filter_targets(store: Store) -> list[Target]:
    """What every metric filter publishes to (each filter's ``metricNamespace`` and ``metricName``)."""
    return [
        (f.account, f.region, str(t["metricNamespace"]), str(t["metricName"]))
        for f in store.logs.metric_filters()
        for t in f.transformations
    ]


def _label(name: str) -> str:
    return "dimension_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)


class MetricFilterCollector(Collector):
    """A Prometheus collector over the store; ``targets`` says which metrics are metric filters'."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        targets: Callable[[], Iterable[Target]],
        max_series: int = MAX_SERIES,
    ) -> None:
        self.store, self.clock, self.targets, self.max_series = store, clock, targets, max_series

    def _read(self, start: int) -> tuple[list[tuple[MetricKey, list[Sample]]], int]:
        keys: list[MetricKey] = []
        for account, region, space, name in sorted(set(self.targets())):
            keys += self.store.metrics.metrics(account, region, space, name, since=start)
        dropped = max(len(keys) - self.max_series, 0)
        return [
            (key, self.store.metrics.samples(key, start, start + WINDOW)) for key in keys[: self.max_series]
        ], dropped

    def collect(self) -> Iterator[Metric]:
        start = math.floor(self.clock.now()) - WINDOW
        try:
            rows, dropped = self._read(start)
        except StoreError as err:
            log.warning("metric filter metrics not exported this scrape: %s", err)
            return
        dimensions = sorted({_label(name) for key, _ in rows for name, _ in key.dimensions})
        labels = ["account", "region", "namespace", "metric_name", *dimensions]
        total = GaugeMetricFamily(
            "opentrail_metric_filter_sum",
            "Sum of a metric filter's values over the last minute",
            labels=labels,
        )
        count = GaugeMetricFamily(
            "opentrail_metric_filter_count",
            "Values a metric filter published over the last minute",
            labels=labels,
        )
        for key, samples in rows:
            given = {_label(name): value for name, value in key.dimensions}
            values = [
                key.account,
                key.region,
                key.namespace,
                key.name,
                *(given.get(d, "") for d in dimensions),
            ]
            total.add_metric(values, math.fsum(s.total for s in samples))
            count.add_metric(values, math.fsum(s.count for s in samples))
        yield total
        yield count
        yield GaugeMetricFamily(
            "opentrail_metric_filter_series_dropped",
            f"Metric filter metrics not exported this scrape (over {self.max_series})",
            value=dropped,
        )
