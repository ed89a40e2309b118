"""The databases the store contract (``tests/contract/store/``) runs on: one fresh, empty database per
test on each backend, opened as stores that share a hand-driven clock.

A backend joins the suite by adding one entry to ``BACKENDS``: a function that returns the URL of a fresh,
empty database (it may ask pytest for fixtures of its own, e.g. a throwaway PostgreSQL cluster), and one to
``RAW_SQL``: its driver's way to run a statement, with which the driver-error tests break a table every
schema has. Nothing else in the suite may depend on how a backend stores things.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from opentrail.clock import FixedClock
from opentrail.store import Store, open_store


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'contract.db'}"


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own in the session's throwaway cluster, dropped after the test."""
    cluster = request.getfixturevalue("postgres_cluster")
    url: str = cluster.new_database()
    request.addfinalizer(lambda: cluster.drop_database(url))
    return url


# backend name -> function returning the URL of a fresh, empty database for one test.
BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], str]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


def _sqlite_sql(url: str, statement: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    try:
        conn.execute(statement)
    finally:
        conn.close()


def _postgres_sql(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


# backend name -> function running one statement on a database URL with the backend's driver.
RAW_SQL: dict[str, Callable[[str, str], None]] = {
    "sqlite": _sqlite_sql,
    "postgres": _postgres_sql,
}


DAY = 86400
START = 100 * DAY + 3600  # the stores' clock: 01:00 UTC on day 100 of the epoch


@dataclass
class Backend:
    """Opens stores on one database URL and closes whatever a test left open. Every store it opens
    shares one hand-driven clock (the store uses it for ingestion days)."""

    name: str
    url: str
    clock: FixedClock = field(default_factory=lambda: FixedClock(START))
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        store = open_store(self.url, self.clock)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        """Close ``store`` and open a new instance on the same database."""
        self.opened.remove(store)
        store.close()
        return self.open()

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()

    def execute(self, statement: str) -> None:
        """Run ``statement`` on the database beside the store, with the backend's own driver."""
        RAW_SQL[self.name](self.url, statement)
