"""Fixtures of the PostgreSQL store's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def url(postgres_cluster: Any) -> Iterator[str]:
    """A fresh, empty database in the session's throwaway cluster, dropped after the test."""
    database: str = postgres_cluster.new_database()
    yield database
    postgres_cluster.drop_database(database)
