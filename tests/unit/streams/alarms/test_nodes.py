"""Several nodes on one database (SQLite and PostgreSQL): two evaluators, each on its own store, that
evaluate the same alarm at the same moments -- as when a lease changes hands while its old holder is
still running -- record each transition once, with one StateUpdate item and one notice per topic.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.context import Services
from opentrail.history.throttle import Throttle
from opentrail.ingest.coverage import Coverage
from opentrail.settings import Settings
from opentrail.storage import LocalStorage
from opentrail.store import Store
from opentrail.store.alarms import HistoryQuery
from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.alarms.evaluator import Evaluator
from opentrail.streams.alarms.operations import OPERATIONS
from opentrail.tokens import TokenSealer
from opentrail.trails.listeners import TrailListeners
from tests.support.calls import Env
from tests.support.databases import BACKENDS, Backend

ACCOUNT = "111122223333"
PERIOD = 10
ROUNDS = 6


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(request.param, BACKENDS[request.param](request, tmp_path))
    try:
        yield backend
    finally:
        backend.close_all()


def env_on(store: Store, root: Path, backend: Backend) -> Env:
    services = Services(
        settings=Settings(data_dir=root),
        store=store,
        storage=LocalStorage(root / "buckets"),
        clock=backend.clock,
        sealer=TokenSealer(b"unit-test-token-secret".ljust(32, b"\0")),
        coverage=Coverage(store),
        throttle=Throttle(0),
        listeners=TrailListeners(),
    )
    return Env(services, itertools.count(100_000_000_000))


def test_racing_nodes_record_each_transition_once(backend: Backend, tmp_path: Path) -> None:
    stores = [backend.open(), backend.open()]
    env = env_on(stores[0], tmp_path, backend)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:ops"
    OPERATIONS["PutMetricAlarm"](
        env.call(ACCOUNT),
        {
            "AlarmName": "errors",
            "MetricName": "Errors",
            "Namespace": "App",
            "Statistic": "Maximum",
            "Period": PERIOD,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [topic],
            "OKActions": [topic],
        },
    )
    start = int(backend.clock.now()) // PERIOD * PERIOD
    # One sample a period, breaching every other one: every period closes with a transition.
    samples = [Sample(start + PERIOD * i + 1, 1.0, v, v, v) for i, v in enumerate([5.0, 0.0] * (ROUNDS // 2))]

    def source(key: MetricKey, first: int, end: int) -> list[Sample]:
        return [s for s in samples if first <= s.second < end]

    ids = itertools.count()
    nodes = [
        Evaluator(store, backend.clock, lambda: f"m-{next(ids)}", samples=source, shared=False)
        for store in stores
    ]
    for i in range(1, ROUNDS + 1):
        backend.clock.value = start + PERIOD * i + 0.5
        barrier = threading.Barrier(len(nodes))
        results: list[int] = []

        def run(node: Evaluator, barrier: threading.Barrier, results: list[int]) -> None:
            barrier.wait()
            results.append(node.run_once())

        threads = [threading.Thread(target=run, args=(node, barrier, results)) for node in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [0, 1], f"round {i}: {results}"
    history = stores[1].alarms.history(
        HistoryQuery(ACCOUNT, "us-east-1", item_type="StateUpdate", ascending=True)
    )
    assert [h.summary for h in history] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    assert len(stores[1].list_docs("notice", ACCOUNT)) == ROUNDS
