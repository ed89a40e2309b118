"""The event log's high-water mark: the last committed sequence number, never ahead of a commit and
never going back."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from opentrail.store import Store
from tests.support.databases import DAY, START, Backend
from tests.support.store import ACCOUNT, OTHER, WAIT, everything, row


def test_high_sequence_is_the_last_committed_number(store: Store) -> None:
    assert store.high_sequence() == 0
    store.append([row(ACCOUNT, f"e{i}") for i in range(3)])
    first = store.high_sequence()
    assert first == everything(store)[-1].seq
    store.append([row(OTHER, "o", region="eu-west-1")])
    high = store.high_sequence()
    assert high == everything(store)[-1].seq > first
    # "An event after n" turns from yes to no once, at the mark.
    assert [bool(store.read_after(n, 1)) for n in range(high + 3)] == [True] * high + [False] * 3


def test_high_sequence_never_goes_back(backend: Backend, store: Store) -> None:
    """A purge drops the oldest events, never the mark; a retry adds no event above it."""
    store.append([row(ACCOUNT, f"a{i}") for i in range(5)])
    high = store.high_sequence()
    backend.clock.advance(DAY)
    assert store.purge_ingested_before(START + DAY) == 5
    assert store.count_events() == 0
    assert store.high_sequence() == high
    assert backend.reopen(store).high_sequence() == high


def test_every_event_up_to_the_high_sequence_is_readable_once_it_is_read(store: Store) -> None:
    """The mark is never ahead of a commit: whatever a consumer later finds at or below a mark it read,
    it could read right after reading the mark (the delivery worker delivers up to it, once)."""
    done = threading.Event()
    seen: list[tuple[int, set[int]]] = []

    def watch() -> None:
        while not done.is_set():
            high = store.high_sequence()
            readable = {e.seq for e in everything(store) if e.seq <= high}
            seen.append((high, readable))

    def write(w: int) -> None:
        for b in range(15):
            store.append([row(ACCOUNT, f"w{w}-{b}-{i}") for i in range(1 + (w + b) % 4)])

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(write, range(4)))
    finally:
        done.set()
        watcher.join(WAIT)
    final = [e.seq for e in everything(store)]
    assert len(seen) > 1
    for high, readable in seen:
        assert readable == {seq for seq in final if seq <= high}
    assert store.high_sequence() == final[-1]
