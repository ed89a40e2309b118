"""Fixtures of the alarm unit tests: a deployment's services on a real SQLite store with a clock the
test holds, and a caller's account in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from tests.support.calls import Env
from tests.support.services import open_env

# 2026-07-12T10:00:00Z, a minute (and hour) boundary: alarm periods start here.
T = 1_783_850_400.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T)


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    yield from open_env(tmp_path, clock)


@pytest.fixture
def account(env: Env) -> str:
    return env.new_account()
