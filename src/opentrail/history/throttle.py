"""LookupEvents' rate limit: ``OPENTRAIL_LOOKUP_RATE`` calls per second per account and region, as
CloudTrail limits it, answered with ``ThrottlingException`` and the seconds until a call may go.
"""

from __future__ import annotations

import threading

from opentrail.errors import ThrottlingException

# Buckets are dropped once idle and full, when there are more than this many (any region name in a
# SigV4 scope is accepted, so the key space is not bounded by configuration).
MAX_BUCKETS = 10_000


class TokenBucket:
    """``rate`` calls per second with a burst of ``max(1, rate)``; thread-safe (operations run in a pool)."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        # max(0, ...): a wall clock stepped backwards must not drain the bucket.
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = max(self.updated, now)

    def take(self, now: float) -> float:
        """0 if a call may proceed now, else the seconds until one may."""
        with self._lock:
            self._refill(now)
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate

    def idle(self, now: float) -> bool:
        with self._lock:
            self._refill(now)
            return self.tokens >= self.capacity


class Throttle:
    """One ``TokenBucket`` per (account, region); ``rate`` 0 limits nothing. Held by ``Services``.

    Not a cache, so not cachetools': a bucket that is not full is state, and dropping it would hand
    its caller a fresh burst. Only idle buckets (full, so equal to a new one) are dropped, and only
    once there are more than ``size``.
    """

    def __init__(self, rate: float, size: int = MAX_BUCKETS) -> None:
        self.rate = rate
        self.size = size
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def check(self, account: str, region: str, now: float) -> None:
        """Take a call from the bucket of ``account`` in ``region``, or raise ``ThrottlingException``."""
        rate = self.rate
        if rate <= 0:
            return
        buckets = self._buckets
        key = (account, region)
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self.size:
                for stale in [k for k, b in list(buckets.items()) if b.idle(now)]:
                    buckets.pop(stale, None)
            # setdefault is atomic, so two first calls racing share one bucket.
            bucket = buckets.setdefault(key, TokenBucket(rate, now))
        wait = bucket.take(now)
        if wait > 0:
            raise ThrottlingException(
                f"Rate exceeded: LookupEvents is limited to {rate:g} calls per second per account and "
                f"region (account {account}, region {region}); retry in {wait:.2f} s"
            )
