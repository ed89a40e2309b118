"""The ``Store`` contract: what every backend promises, tested through the abstract interface only.

Each test gets a fresh, empty store from the ``backend`` fixture, parametrised by backend name; how a
backend joins is said in ``tests.support.databases``. This file only registers fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.store import Store
from tests.support.databases import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    backend = Backend(request.param, BACKENDS[request.param](request, tmp_path))
    try:
        yield backend
    finally:
        backend.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.open()
