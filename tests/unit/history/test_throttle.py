"""LookupEvents' rate limit (``opentrail.history.throttle``): the token bucket, one per account and
region, and the buckets kept while they hold state."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.context import Services
from opentrail.errors import ApiError
from opentrail.history import lookup
from opentrail.history.throttle import Throttle, TokenBucket
from opentrail.ingest.coverage import Coverage
from opentrail.settings import Settings
from opentrail.storage import LocalStorage
from opentrail.store import open_store
from opentrail.tokens import TokenSealer
from opentrail.trails.listeners import TrailListeners
from tests.support.calls import Env

NOW = 1_704_153_600  # 2024-01-02T00:00:00Z


def test_token_bucket_limits_and_refills() -> None:
    bucket = TokenBucket(rate=2, now=100.0)
    assert bucket.take(100.0) == 0
    assert bucket.take(100.0) == 0
    assert bucket.take(100.0) == pytest.approx(0.5)
    assert bucket.take(100.5) == 0  # half a second buys one call at 2/s
    assert bucket.take(99.0) > 0  # a clock stepped backwards refills nothing
    slow = TokenBucket(rate=0.5, now=0.0)
    assert slow.take(0.0) == 0  # a burst of at least one call
    assert slow.take(1.0) == pytest.approx(1.0)
    assert slow.take(2.0) == 0


def test_throttle_keys_by_account_and_region(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'opentrail.db'}")
    clock = FixedClock(NOW)
    settings = Settings(data_dir=tmp_path, lookup_rate=1)
    services = Services(
        settings=settings,
        store=store,
        storage=LocalStorage(tmp_path / "buckets"),
        clock=clock,
        sealer=TokenSealer(b"k" * 32),
        coverage=Coverage(store),
        throttle=Throttle(settings.lookup_rate),
        listeners=TrailListeners(),
    )
    env = Env(services, itertools.count(200_000_000_000))
    try:
        a, b = env.new_account(), env.new_account()
        lookup.lookup_events(env.call(a), {})
        with pytest.raises(ApiError, match="Rate exceeded") as info:
            lookup.lookup_events(env.call(a), {})
        assert (info.value.code, info.value.status) == ("ThrottlingException", 400)
        lookup.lookup_events(env.call(a, "eu-west-1"), {})
        lookup.lookup_events(env.call(b), {})
        clock.advance(1.0)
        lookup.lookup_events(env.call(a), {})
    finally:
        store.close()


def test_no_rate_limits_nothing() -> None:
    throttle = Throttle(0)
    for _ in range(100):
        throttle.check("111111111111", "us-east-1", 0.0)


def test_a_bucket_that_holds_state_is_kept_past_the_size() -> None:
    """Only idle (full) buckets are dropped: a throttled caller stays throttled however many other
    accounts and regions call meanwhile, and one idle long enough starts afresh."""
    throttle = Throttle(rate=1, size=2)
    throttle.check("a", "us-east-1", 0.0)
    for region in ("eu-west-1", "eu-west-2", "eu-west-3", "ap-south-1"):
        throttle.check("b", region, 0.0)
    with pytest.raises(ApiError, match=r"account a, region us-east-1\); retry in 1.00 s"):
        throttle.check("a", "us-east-1", 0.0)
    throttle.check("c", "us-east-1", 1.0)  # every bucket full again: idle ones go
    throttle.check("a", "us-east-1", 1.0)
    with pytest.raises(ApiError, match="Rate exceeded"):
        throttle.check("a", "us-east-1", 1.0)
