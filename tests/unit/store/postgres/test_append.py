"""Appending groups to the PostgreSQL log: numbers given out in order from ``log_state.high``, on the
direct COPY path and on the staging path a client's retry takes, far beyond small integers."""

from __future__ import annotations

import psycopg

from opentrail.store import open_store
from tests.support.store import rows


def test_sequence_numbers_beyond_small_integers(url: str) -> None:
    """Parameters are typed by value (psycopg sends a small int as int2): numbering must not overflow
    once the log passes 32,767 or 2**31 events."""
    store = open_store(url)
    try:
        store.append(rows("a", 1))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE log_state SET high = %s", (2**40,))
        store.append(rows("b", 2))
        assert [e.seq for e in store.read_after(1, 10)] == [2**40 + 1, 2**40 + 2]
        assert [e.row.event_id for e in store.read_after(2**40 + 1, 10)] == ["b-1"]
    finally:
        store.close()


def test_a_retried_group_takes_the_staging_path_and_numbers_past_small_integers(url: str) -> None:
    """A group holding a stored identity is numbered by MOVE_SQL, whose parameters carry casts: without
    them ``base + count`` of two small ints is int2 arithmetic, which overflows past 32,767."""
    store = open_store(url)
    try:
        first = rows("a", 2)
        store.append(first)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE log_state SET high = %s", (32_760,))
        store.append([first[0], *rows("b", 10)])  # a retry rides along: the staging path
        stored = store.read_after(0, 100)
        assert [e.row.event_id for e in stored] == ["a-0", "a-1", *[f"b-{i}" for i in range(10)]]
        assert [e.seq for e in stored[2:]] == list(range(32_762, 32_772))  # the retry's number is a gap
        assert store.high_sequence() == 32_771
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT max(last_seq) FROM day_spans").fetchone() == (32_771,)
    finally:
        store.close()
