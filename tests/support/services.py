"""A deployment's services built in process, for unit tests that run operations without a server: a
real SQLite store and a real local bucket store in the test's own directory, and a clock it holds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from opentrail.clock import Clock, FixedClock
from opentrail.context import Services
from opentrail.history.throttle import Throttle
from opentrail.ingest.coverage import Coverage
from opentrail.settings import Settings
from opentrail.storage import LocalStorage
from opentrail.store import Store, open_store
from opentrail.tokens import TokenSealer
from opentrail.trails.listeners import TrailListeners
from tests.support.calls import Env

# 2024-01-01T00:00:00Z: where the clocks of in-process tests start unless a test picks its own.
START = 1_704_067_200.0


def sqlite_store(root: Path) -> Iterator[Store]:
    """A fresh SQLite store under ``root``, closed afterwards."""
    store = open_store(f"sqlite:///{root / 'opentrail.db'}")
    try:
        yield store
    finally:
        store.close()


def open_env(root: Path, clock: Clock | None = None) -> Iterator[Env]:
    """Services on a fresh SQLite store under ``root`` (closed afterwards); accounts from ``Env``."""
    for store in sqlite_store(root):
        services = Services(
            settings=Settings(data_dir=root),
            store=store,
            storage=LocalStorage(root / "buckets"),
            clock=clock or FixedClock(START),
            sealer=TokenSealer(b"unit-test-token-secret".ljust(32, b"\0")),
            coverage=Coverage(store),
            throttle=Throttle(0),
            listeners=TrailListeners(),
        )
        yield Env(services, itertools.count(100_000_000_000))
