"""Metric datapoints: one row per metric and second, merged on put, read back by range, listed by
metric, purged by age; a cursor moves with the points it wrote or not at all."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from opentrail.errors import ConflictError
from opentrail.store import Store
from opentrail.store.metrics import MAX_VALUES, MetricKey, Sample
from opentrail.store.tables import advance_cursor, read_cursor
from tests.support.databases import Backend

KEY = MetricKey("111122223333", "us-east-1", "App", "Latency", (("Host", "a"), ("Az", "1")))
OTHER = MetricKey("111122223333", "us-east-1", "App", "Errors")


def one(second: int, value: float, unit: str = "Milliseconds") -> Sample:
    return Sample(second, 1, value, value, value, unit, (value,))


def test_puts_to_one_second_merge(store: Store) -> None:
    store.metrics.put([(KEY, one(100, 5.0)), (KEY, one(100, 1.0))])
    store.metrics.put([(KEY, one(100, 9.0, "Seconds")), (KEY, one(101, 2.0))])
    first, second = store.metrics.samples(KEY, 100, 102)
    assert first == Sample(100, 3, 15.0, 1.0, 9.0, "Seconds", (5.0, 1.0, 9.0))
    assert second == one(101, 2.0)


def test_samples_reads_the_half_open_range_oldest_first(store: Store) -> None:
    store.metrics.put([(KEY, one(s, float(s))) for s in (105, 103, 104, 110)])
    assert [s.second for s in store.metrics.samples(KEY, 103, 110)] == [103, 104, 105]
    assert store.metrics.samples(OTHER, 0, 1000) == []


def test_a_statistic_set_keeps_no_values(store: Store) -> None:
    store.metrics.put([(KEY, Sample(50, 10, 55.0, 1.0, 10.0, "Count"))])
    store.metrics.put([(KEY, one(50, 20.0, "Count"))])
    [sample] = store.metrics.samples(KEY, 50, 51)
    assert sample == Sample(50, 11, 75.0, 1.0, 20.0, "Count", (20.0,))


def test_values_stop_at_the_bound_but_statistics_go_on(store: Store) -> None:
    many = tuple(float(v) for v in range(MAX_VALUES - 1))
    store.metrics.put([(KEY, Sample(7, len(many), sum(many), 0.0, max(many), "None", many))])
    store.metrics.put([(KEY, Sample(7, 2, 3000.0, 1000.0, 2000.0, "None", (1000.0, 2000.0)))])
    [sample] = store.metrics.samples(KEY, 7, 8)
    assert sample.values == many
    assert (sample.count, sample.maximum) == (MAX_VALUES + 1, 2000.0)
    store.metrics.put([(KEY, one(7, -1.0))])
    assert store.metrics.samples(KEY, 7, 8)[0].values == (*many, -1.0)


def test_metrics_are_listed_by_namespace_name_and_recent_data(store: Store) -> None:
    elsewhere = MetricKey("111122223333", "eu-west-1", "App", "Latency")
    other_ns = MetricKey("111122223333", "us-east-1", "Batch", "Jobs")
    store.metrics.put([(KEY, one(100, 1)), (OTHER, one(500, 1)), (elsewhere, one(100, 1))])
    store.metrics.put([(other_ns, one(300, 1)), (KEY, one(90, 1))])
    listed = store.metrics.metrics("111122223333", "us-east-1")
    assert listed == [
        OTHER,
        MetricKey(KEY.account, KEY.region, "App", "Latency", (("Az", "1"), ("Host", "a"))),
        other_ns,
    ]
    assert store.metrics.metrics("111122223333", "us-east-1", namespace="Batch") == [other_ns]
    assert store.metrics.metrics("111122223333", "us-east-1", name="Errors") == [OTHER]
    assert store.metrics.metrics("111122223333", "us-east-1", since=300) == [OTHER, other_ns]
    assert store.metrics.metrics("999999999999", "us-east-1") == []


def test_purge_removes_old_seconds_and_metrics_left_empty(store: Store) -> None:
    store.metrics.put([(KEY, one(100, 1)), (KEY, one(200, 2)), (OTHER, one(150, 3))])
    assert store.metrics.purge_before(180) == 2
    assert [s.second for s in store.metrics.samples(KEY, 0, 1000)] == [200]
    assert store.metrics.metrics("111122223333", "us-east-1") == [
        MetricKey(KEY.account, KEY.region, "App", "Latency", (("Az", "1"), ("Host", "a")))
    ]


def test_put_moves_its_cursor_or_writes_nothing(store: Store) -> None:
    tables = store.metrics
    tables.put([(KEY, one(1, 1))], cursor=("metric-filters", 0, 10))
    with pytest.raises(ConflictError):
        tables.put([(KEY, one(2, 1))], cursor=("metric-filters", 0, 20))
    assert tables.read(lambda conn: read_cursor(conn, tables.dialect, "metric-filters")) == 10
    assert [s.second for s in tables.samples(KEY, 0, 10)] == [1]


def test_concurrent_puts_to_one_second_lose_no_count(backend: Backend, store: Store) -> None:
    stores = [store, backend.open(), backend.open()]
    failures: list[BaseException] = []

    def work(s: Store, worker: int) -> None:
        try:
            for i in range(40):
                s.metrics.put([(KEY, one(1000, float(worker))), (OTHER, one(1000 + i % 2, 1.0))])
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(s, n)) for n, s in enumerate(stores * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    [sample] = store.metrics.samples(KEY, 1000, 1001)
    assert (sample.count, sample.total, sample.minimum, sample.maximum) == (240, 40.0 * 15, 0.0, 5.0)
    assert sum(s.count for s in store.metrics.samples(OTHER, 0, 2000)) == 240


def test_a_stale_cursor_rolls_back_the_points(store: Store) -> None:
    tables = store.metrics
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 0, 5))

    def check(conn: Any) -> int:
        return read_cursor(conn, tables.dialect, "c")

    with pytest.raises(ConflictError):
        tables.put([(KEY, one(3, 1))], cursor=("c", 4, 9))
    assert tables.samples(KEY, 0, 10) == []
    assert tables.read(check) == 5


_PUTTER = """
import sys
from opentrail.store import open_store
from opentrail.store.metrics import MetricKey, Sample
store = open_store(sys.argv[1])
key = MetricKey("111122223333", "us-east-1", "App", "Procs")
for _ in range(50):
    store.metrics.put([(key, Sample(7000, 1, 2.0, 2.0, 2.0, "Count", (2.0,)))])
store.close()
"""


def test_puts_from_several_processes_lose_no_count(backend: Backend, store: Store) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _PUTTER, backend.url]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    [sample] = store.metrics.samples(MetricKey("111122223333", "us-east-1", "App", "Procs"), 7000, 7001)
    assert (sample.count, sample.total, len(sample.values)) == (150, 300.0, 150)
