"""Consumers' durable cursors: absent is 0, moved only by a compare-and-set inside the writer's own
transaction, so a writer that lost the race writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.errors import ConflictError
from opentrail.store import Store
from opentrail.store.tables import advance_cursor, read_cursor
from tests.support.databases import Backend


def position(store: Store, name: str) -> int:
    tables = store.logs
    return tables.read(lambda conn: read_cursor(conn, tables.dialect, name))


def test_a_cursor_starts_at_zero_and_moves_forward(store: Store) -> None:
    tables = store.logs
    assert position(store, "c") == 0
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 0, 5))
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 5, 9))
    assert position(store, "c") == 9
    assert position(store, "other") == 0


def test_a_stale_writer_is_refused_and_its_writes_roll_back(store: Store) -> None:
    tables = store.logs
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 0, 5))

    def stale(conn: Any) -> None:
        advance_cursor(conn, tables.dialect, "side", 0, 1)  # written first, must be undone
        advance_cursor(conn, tables.dialect, "c", 0, 7)

    with pytest.raises(ConflictError):
        tables.write(stale)
    assert position(store, "c") == 5
    assert position(store, "side") == 0


def test_cursors_survive_reopening(backend: Backend, store: Store) -> None:
    tables = store.logs
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 0, 3))
    store.close()
    assert position(backend.open(), "c") == 3
