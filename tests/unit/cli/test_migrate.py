"""``opentrail migrate`` (``cli/migrate.py``): the data directory's database is created, or upgraded to
the newest schema shipped (``store/migrations/sqlite/NNNN_*.sql``, applied in order, each once), and the
command names the database it brought up to date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.support.cli import opentrail
from tests.support.server import ROOT

SHIPPED = sorted(
    (ROOT / "src" / "opentrail" / "store" / "migrations" / "sqlite").glob("[0-9][0-9][0-9][0-9]_*.sql")
)


def version(database: Path) -> int:
    conn = sqlite3.connect(database)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_a_new_data_directory_gets_the_newest_schema(data_dir: Path) -> None:
    result = opentrail("migrate", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    database = data_dir / "opentrail.db"
    assert result.stdout == f"database sqlite:///{database.resolve()} is up to date\n"
    assert version(database) == int(SHIPPED[-1].name[:4]) == len(SHIPPED)
    assert opentrail("migrate", "--data-dir", str(data_dir)).exit_code == 0  # a second run changes nothing
    assert version(database) == len(SHIPPED)


def test_an_older_database_is_upgraded_with_what_it_holds(data_dir: Path) -> None:
    data_dir.mkdir()
    database = data_dir / "opentrail.db"
    conn = sqlite3.connect(database)
    conn.executescript(SHIPPED[0].read_text() + "\nPRAGMA user_version=1;")
    conn.execute("INSERT INTO accounts (account_id, name, created) VALUES ('123456789012', 'old', 1.0)")
    conn.commit()
    conn.close()
    assert opentrail("migrate", "--data-dir", str(data_dir)).exit_code == 0
    assert version(database) == len(SHIPPED)
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("SELECT account_id, name FROM accounts").fetchall() == [("123456789012", "old")]
    finally:
        conn.close()


def test_the_database_is_named_as_it_is(tmp_path: Path) -> None:
    data_dir = tmp_path / "data[prod]"
    result = opentrail("migrate", "--data-dir", str(data_dir))
    assert result.stdout == f"database sqlite:///{(data_dir / 'opentrail.db').resolve()} is up to date\n"
