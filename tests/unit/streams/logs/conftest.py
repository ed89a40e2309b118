"""The Logs operations' unit tests: an in-process deployment on a real SQLite store with a fixed clock.
This file only registers fixtures; ``tests.support.logs`` has the helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from tests.support.calls import Env
from tests.support.services import START, open_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path, FixedClock(START))
