"""Metric retention (``server/retention.py``): the hourly pass drops metric seconds older than
OPENTRAIL_METRIC_RETENTION_DAYS and the metrics left without data, beside the event history."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.context import Services
from opentrail.errors import ConfigError
from opentrail.server.retention import enforce_retention
from opentrail.settings import Settings
from opentrail.store import Store, open_store
from opentrail.store.metrics import MetricKey, Sample
from tests.support.services import open_env

DAY = 86400
NOW = 100 * DAY
OLD = MetricKey("111111111111", "us-east-1", "App", "Old")
NEW = MetricKey("111111111111", "us-east-1", "App", "New")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    clock = FixedClock(NOW)
    store = open_store(f"sqlite:///{tmp_path / 'metrics.db'}", clock)
    for env in open_env(tmp_path, clock):
        settings = Settings(data_dir=tmp_path, metric_retention_days=2)
        yield dataclasses.replace(env.services, store=store, settings=settings)
    store.close()


def test_seconds_older_than_the_window_go(services: Services, caplog: pytest.LogCaptureFixture) -> None:
    store: Store = services.store
    store.metrics.put(
        [
            (OLD, Sample(NOW - 3 * DAY, 1, 1.0, 1.0, 1.0)),
            (NEW, Sample(NOW - 3 * DAY, 1, 1.0, 1.0, 1.0)),
            (NEW, Sample(NOW - DAY, 1, 2.0, 2.0, 2.0)),
        ]
    )

    async def one_pass() -> None:
        task = asyncio.create_task(enforce_retention(services))
        for _ in range(500):
            if "metric seconds" in caplog.text:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    with caplog.at_level(logging.INFO, logger="opentrail"):
        asyncio.run(one_pass())
    assert f"retention removed 2 metric seconds before {NOW - 2 * DAY}" in caplog.text
    assert store.metrics.metrics("111111111111", "us-east-1") == [NEW]
    assert [s.second for s in store.metrics.samples(NEW, 0, NOW)] == [NOW - DAY]


def test_the_window_is_at_least_a_day() -> None:
    with pytest.raises(ConfigError, match="OPENTRAIL_METRIC_RETENTION_DAYS must be at least 1, got 0"):
        Settings.from_env({"OPENTRAIL_METRIC_RETENTION_DAYS": "0"})
