"""The SQL both database backends share: one statement text for both placeholder styles, byte-order
sorting, and which driver errors are a key that exists (``ConflictError``) — checked against real
SQLite and PostgreSQL databases. What the shared statements do is the contract suite's to test."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from opentrail.errors import ConflictError
from opentrail.store.postgres.store import POSTGRES
from opentrail.store.sql import shipped_migrations
from opentrail.store.sqlite.store import SQLITE
from tests.support.server import ROOT

SCHEMA = [
    "CREATE TABLE parent (id TEXT PRIMARY KEY)",
    "CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parent (id))",
    "INSERT INTO parent (id) VALUES ('p')",
]


@pytest.fixture
def lite() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    for statement in SCHEMA:
        conn.execute(statement)
    yield conn
    conn.close()


@pytest.fixture
def pg(postgres_cluster: Any) -> Iterator[psycopg.Connection[Any]]:
    url: str = postgres_cluster.new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in SCHEMA:
            conn.execute(statement)
        yield conn
    postgres_cluster.drop_database(url)


def test_statements_are_written_once_with_question_marks() -> None:
    text = "SELECT x FROM t WHERE a = ? AND b LIKE 'a%' AND c = ?"
    assert SQLITE.sql(text) == text
    assert POSTGRES.sql(text) == "SELECT x FROM t WHERE a = %s AND b LIKE 'a%%' AND c = %s"


def test_each_dialect_runs_the_shared_text_on_its_driver(
    lite: sqlite3.Connection, pg: psycopg.Connection[Any]
) -> None:
    text = "SELECT count(*) FROM parent WHERE id = ? AND id LIKE 'p%'"
    assert lite.execute(SQLITE.sql(text), ("p",)).fetchone() == (1,)
    assert pg.execute(POSTGRES.sql(text), ("p",)).fetchone() == (1,)


def test_text_orders_byte_by_byte(lite: sqlite3.Connection, pg: psycopg.Connection[Any]) -> None:
    names = ["b", "B", "a", "_", "é", "Z"]
    for conn, dialect in ((lite, SQLITE), (pg, POSTGRES)):
        for name in names:
            conn.execute(dialect.sql("INSERT INTO child (id, parent) VALUES (?, 'p')"), (name,))
        order = dialect.ordered("id")  # fixed text: a column name and the dialect's collation
        found = conn.execute(f"SELECT id FROM child ORDER BY {order}").fetchall()  # noqa: S608
        assert [name for (name,) in found] == sorted(names, key=str.encode)
    assert POSTGRES.ordered("a", "b") == 'a COLLATE "C", b COLLATE "C"'


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgres"])
def test_a_unique_key_that_exists_is_a_conflict(
    dialect_name: str, lite: sqlite3.Connection, pg: psycopg.Connection[Any]
) -> None:
    conn: Any = lite if dialect_name == "sqlite" else pg
    dialect = SQLITE if dialect_name == "sqlite" else POSTGRES
    with (
        pytest.raises(ConflictError, match=r"^parent p already exists$"),
        dialect.conflict("parent p already exists"),
    ):
        conn.execute("INSERT INTO parent (id) VALUES ('p')")
    # Any constraint, where asked: the message says which refused the row.
    refused = pytest.raises(ConflictError, match=r"child c cannot be added: .*(FOREIGN KEY|foreign key)")
    with refused, dialect.conflict("child c cannot be added", any_constraint=True):
        conn.execute("INSERT INTO child (id, parent) VALUES ('c', 'nobody')")


def test_only_postgres_tells_a_unique_key_from_another_constraint(pg: psycopg.Connection[Any]) -> None:
    """A foreign key that refuses a row is no existing key: the error goes on (the store's guard makes
    it StoreError). SQLite reports both as one error class, and has always called both a conflict."""
    with pytest.raises(psycopg.errors.ForeignKeyViolation), POSTGRES.conflict("child c exists"):
        pg.execute("INSERT INTO child (id, parent) VALUES ('c', 'nobody')")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_shipped_migrations_are_numbered_from_one_without_gaps(backend: str) -> None:
    shipped = shipped_migrations(backend)
    assert [number for number, _ in shipped] == list(range(1, len(shipped) + 1))
    files = sorted((ROOT / "src/opentrail/store/migrations" / backend).glob("*.sql"))
    assert [text for _, text in shipped] == [path.read_text() for path in files]
