"""Metric filters' metrics on /metrics: the last whole minute's sum and count of each metric a filter
publishes to, labelled by account, region, namespace, name and dimensions, and no other metric."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opentrail.clock import FixedClock
from opentrail.store import Store, open_store
from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.metrics.prometheus import MetricFilterCollector

NOW = 1_000_020
A = "111111111111"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    yield store
    store.close()


def scrape(collector: MetricFilterCollector) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = prometheus_client.CollectorRegistry()
    registry.register(collector)
    text = prometheus_client.generate_latest(registry).decode()
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def put(store: Store, key: MetricKey, second: int, value: float) -> None:
    store.metrics.put([(key, Sample(second, 1, value, value, value, "Count", (value,)))])


def test_the_last_minute_of_each_filter_metric_is_exported(store: Store) -> None:
    root = MetricKey(A, "us-east-1", "CIS", "RootUse")
    by_user = MetricKey(A, "us-east-1", "CIS", "Denied", (("user.name", "bob"),))
    custom = MetricKey(A, "us-east-1", "App", "Latency")
    put(store, root, NOW - 70, 100.0)  # before the window
    put(store, root, NOW - 30, 1.0)
    put(store, root, NOW - 10, 1.0)
    put(store, by_user, NOW - 5, 3.0)
    put(store, custom, NOW - 5, 7.0)  # PutMetricData's, not a filter's: never exported
    targets = [(A, "us-east-1", "CIS", "RootUse"), (A, "us-east-1", "CIS", "Denied")]
    found = scrape(MetricFilterCollector(store, FixedClock(NOW), lambda: targets))
    base = {"account": A, "region": "us-east-1", "namespace": "CIS"}
    assert sorted(found["opentrail_metric_filter_sum"], key=lambda s: s[0]["metric_name"]) == [
        ({**base, "metric_name": "Denied", "dimension_user_name": "bob"}, 3.0),
        ({**base, "metric_name": "RootUse", "dimension_user_name": ""}, 2.0),
    ]
    assert {s[0]["metric_name"]: s[1] for s in found["opentrail_metric_filter_count"]} == {
        "Denied": 1,
        "RootUse": 2,
    }
    assert found["opentrail_metric_filter_series_dropped"] == [({}, 0.0)]


def test_series_past_the_bound_are_counted_not_exported(store: Store) -> None:
    for i in range(5):
        put(store, MetricKey(A, "us-east-1", "CIS", "Hits", (("n", str(i)),)), NOW - 1, 1.0)
    collector = MetricFilterCollector(
        store, FixedClock(NOW), lambda: [(A, "us-east-1", "CIS", "Hits")], max_series=3
    )
    found = scrape(collector)
    assert len(found["opentrail_metric_filter_sum"]) == 3
    assert found["opentrail_metric_filter_series_dropped"] == [({}, 2.0)]


def test_a_store_without_metric_filters_exports_empty_families(store: Store) -> None:
    found = scrape(MetricFilterCollector(store, FixedClock(NOW), list))
    assert found["opentrail_metric_filter_sum"] == []
