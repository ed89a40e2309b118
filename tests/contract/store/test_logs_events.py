"""Log events: appends numbered by one global sequence, read forward by consumers without a gap even
while several writers commit, redelivery made idempotent by source ids, cursors moved with the events
they produced, and reads by time within a stream or a group."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from opentrail.errors import ConflictError
from opentrail.store import Store
from opentrail.store.logs import LogEvent, LogGroup
from opentrail.store.tables import advance_cursor, read_cursor
from tests.support.databases import Backend
from tests.support.store import ACCOUNT, OTHER, WAIT

REGION = "us-east-1"


def group(store: Store, name: str = "g", account: str = ACCOUNT, region: str = REGION) -> None:
    store.logs.create_group(LogGroup(account, region, name, 1_000))


def messages(events: list[LogEvent]) -> list[str]:
    return [e.message for e in events]


def test_append_numbers_events_in_order_across_groups(store: Store) -> None:
    group(store, "a")
    group(store, "b", account=OTHER)
    assert store.logs.high() == 0
    assert store.logs.append(ACCOUNT, REGION, "a", "s1", [(10, "one"), (5, "two")], create_stream=True) == 2
    assert store.logs.append(OTHER, REGION, "b", "s2", [(7, "three")], create_stream=True, ingested=99) == 1
    read = store.logs.events_after(0, 10)
    assert [(e.seq, e.account, e.group, e.stream, e.timestamp, e.message) for e in read] == [
        (1, ACCOUNT, "a", "s1", 10, "one"),
        (2, ACCOUNT, "a", "s1", 5, "two"),
        (3, OTHER, "b", "s2", 7, "three"),
    ]
    assert read[2].ingestion_time == 99
    assert store.logs.high() == 3
    assert messages(store.logs.events_after(1, 1)) == ["two"]
    assert store.logs.events_after(3, 10) == []


def test_append_needs_the_group_and_the_stream_unless_asked_to_create_it(store: Store) -> None:
    with pytest.raises(KeyError):
        store.logs.append(ACCOUNT, REGION, "missing", "s", [(1, "x")], create_stream=True)
    group(store)
    with pytest.raises(KeyError):
        store.logs.append(ACCOUNT, REGION, "g", "s", [(1, "x")])
    # Another account's group of the same name is not this one.
    with pytest.raises(KeyError):
        store.logs.append(OTHER, REGION, "g", "s", [(1, "x")], create_stream=True)
    store.logs.create_stream(ACCOUNT, REGION, "g", "s", 5)
    assert store.logs.append(ACCOUNT, REGION, "g", "s", [(1, "x")]) == 1
    assert store.logs.high() == 1


def test_source_ids_make_redelivery_idempotent(store: Store) -> None:
    group(store)
    first = store.logs.append(
        ACCOUNT, REGION, "g", "s", [(1, "a"), (2, "b")], source_ids=["1", "2"], create_stream=True
    )
    again = store.logs.append(
        ACCOUNT, REGION, "g", "s", [(1, "a"), (2, "b"), (3, "c"), (3, "c")],
        source_ids=["1", "2", "3", "3"],
    )  # fmt: skip
    assert (first, again) == (2, 1)
    assert messages(store.logs.events_after(0, 10)) == ["a", "b", "c"]
    assert store.logs.high() == 3  # skipped repeats take no number
    # Source ids are unique per stream: another stream takes the same ids.
    assert store.logs.append(ACCOUNT, REGION, "g", "t", [(1, "a")], source_ids=["1"], create_stream=True) == 1
    with pytest.raises(ValueError, match="source ids"):
        store.logs.append(ACCOUNT, REGION, "g", "s", [(1, "a")], source_ids=[])


def test_a_cursor_moves_with_the_events_or_nothing_is_stored(store: Store) -> None:
    group(store)
    tables = store.logs
    assert tables.append(ACCOUNT, REGION, "g", "s", [(1, "a")], cursor=("c", 0, 4), create_stream=True) == 1
    with pytest.raises(ConflictError):
        tables.append(ACCOUNT, REGION, "g", "s", [(2, "b")], cursor=("c", 0, 9))
    assert tables.read(lambda conn: read_cursor(conn, tables.dialect, "c")) == 4
    assert messages(tables.events_after(0, 10)) == ["a"]
    assert tables.high() == 1
    tables.write(lambda conn: advance_cursor(conn, tables.dialect, "c", 4, 5))
    assert tables.append(ACCOUNT, REGION, "g", "s", [(2, "b")], cursor=("c", 5, 6)) == 1
    assert tables.high() == 2


def test_streams_keep_their_first_and_last_event_and_bytes(store: Store) -> None:
    group(store)
    store.logs.append(ACCOUNT, REGION, "g", "s", [(50, "ab"), (20, "é")], create_stream=True, ingested=7)
    store.logs.append(ACCOUNT, REGION, "g", "s", [(90, "x")], ingested=8)
    stream = store.logs.stream(ACCOUNT, REGION, "g", "s")
    assert stream is not None
    assert (stream.first_event, stream.last_event, stream.last_ingestion, stream.last_seq) == (20, 90, 8, 3)
    assert stream.stored_bytes == (2 + 26) + (2 + 26) + (1 + 26)  # UTF-8 bytes and 26 per event
    found = store.logs.group(ACCOUNT, REGION, "g")
    assert found is not None
    assert found.stored_bytes == stream.stored_bytes


def test_messages_round_trip_any_text(store: Store) -> None:
    group(store)
    texts = ["nul \x00 inside", "ünïcødé ✓ 🚀", '{"json": [1, 2]}', "line\nbreak"]
    store.logs.append(ACCOUNT, REGION, "g", "s", [(1, t) for t in texts], create_stream=True)
    assert messages(store.logs.events_after(0, 10)) == texts


def test_stream_reads_by_time_forward_and_backward(store: Store) -> None:
    group(store)
    store.logs.append(
        ACCOUNT, REGION, "g", "s", [(t, f"m{t}") for t in (30, 10, 20, 40, 20)], create_stream=True
    )
    read = store.logs.stream_events
    assert messages(read(ACCOUNT, REGION, "g", "s")) == ["m10", "m20", "m20", "m30", "m40"]
    window = read(ACCOUNT, REGION, "g", "s", start=20, end=40)  # start inclusive, end exclusive
    assert messages(window) == ["m20", "m20", "m30"]
    first_two = read(ACCOUNT, REGION, "g", "s", limit=2)
    after = (first_two[-1].timestamp, first_two[-1].seq)
    assert messages(read(ACCOUNT, REGION, "g", "s", after=after, limit=2)) == ["m20", "m30"]
    newest = read(ACCOUNT, REGION, "g", "s", backward=True, limit=2)
    assert messages(newest) == ["m30", "m40"]
    before = (newest[0].timestamp, newest[0].seq)
    assert messages(read(ACCOUNT, REGION, "g", "s", backward=True, before=before, limit=2)) == ["m20", "m20"]
    with pytest.raises(KeyError):
        read(ACCOUNT, REGION, "g", "nope")


def test_group_reads_interleave_streams_by_time(store: Store) -> None:
    group(store)
    store.logs.append(ACCOUNT, REGION, "g", "app-1", [(10, "a10"), (30, "a30")], create_stream=True)
    store.logs.append(ACCOUNT, REGION, "g", "app-2", [(20, "b20")], create_stream=True)
    store.logs.append(ACCOUNT, REGION, "g", "web", [(15, "w15")], create_stream=True)
    read = store.logs.group_events
    assert messages(read(ACCOUNT, REGION, "g")) == ["a10", "w15", "b20", "a30"]
    assert messages(read(ACCOUNT, REGION, "g", prefix="app")) == ["a10", "b20", "a30"]
    assert messages(read(ACCOUNT, REGION, "g", streams=["web", "app-2"])) == ["w15", "b20"]
    page = read(ACCOUNT, REGION, "g", limit=2)
    after = (page[-1].timestamp, page[-1].seq)
    assert messages(read(ACCOUNT, REGION, "g", after=after, start=0, end=30)) == ["b20"]
    with pytest.raises(KeyError):
        read(ACCOUNT, REGION, "nope")


def test_concurrent_writers_a_consumer_skips_no_event(backend: Backend, store: Store) -> None:
    """Writers on two stores (two nodes) append while a consumer reads forward from its cursor: it
    sees every event exactly once, in sequence order, with no gap in the numbers."""
    second = backend.open()
    for name in ("g0", "g1", "g2"):
        group(store, name)
    writers, rounds = 8, 25
    done = threading.Event()
    consumed: list[LogEvent] = []

    def consume() -> None:
        cursor = 0
        while True:
            finished = done.is_set()  # read before the page, so the last page is taken after the end
            page = store.logs.events_after(cursor, 100)
            consumed.extend(page)
            if page:
                cursor = page[-1].seq
            elif finished:
                return

    def write(w: int) -> int:
        tables = (store if w % 2 else second).logs
        stored = 0
        for r in range(rounds):
            batch = [(r, f"w{w}-r{r}-{i}") for i in range(1 + (w + r) % 7)]
            stored += tables.append(ACCOUNT, REGION, f"g{w % 3}", f"s{w}", batch, create_stream=True)
        return stored

    consumer = threading.Thread(target=consume)
    consumer.start()
    with ThreadPoolExecutor(writers) as pool:
        total = sum(pool.map(write, range(writers)))
    done.set()
    consumer.join(WAIT)
    assert not consumer.is_alive()
    assert [e.seq for e in consumed] == list(range(1, total + 1))
    assert len({e.message for e in consumed}) == total
    assert store.logs.high() == total
    # Each writer's events come out in the order it appended them.
    for w in range(writers):
        mine = [e.message for e in consumed if e.stream == f"s{w}"]
        assert mine == sorted(mine, key=lambda m: (int(m.split("-")[1][1:]), int(m.split("-")[2])))


def test_events_survive_reopening_and_numbering_continues(backend: Backend, store: Store) -> None:
    group(store)
    store.logs.append(ACCOUNT, REGION, "g", "s", [(1, "a")], create_stream=True)
    reopened: Any = backend.reopen(store)
    assert reopened.logs.append(ACCOUNT, REGION, "g", "s", [(2, "b")]) == 1
    assert [(e.seq, e.message) for e in reopened.logs.events_after(0, 10)] == [(1, "a"), (2, "b")]
