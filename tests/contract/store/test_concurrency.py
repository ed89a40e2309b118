"""Concurrent writers and readers: every row stored once, consumers skip none, appends keep the order
they completed in, and two stores on one database share the log."""

from __future__ import annotations

import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from opentrail.events import EventRow, StoredEvent
from opentrail.store import Store
from tests.support.databases import Backend
from tests.support.store import ACCOUNT, OTHER, WAIT, at, everything, ids, query, row


def test_concurrent_writers_store_every_row_once_and_a_consumer_skips_none(store: Store) -> None:
    writers, rounds = 12, 30
    done = threading.Event()
    consumed: list[StoredEvent] = []

    def consume() -> None:
        cursor = 0
        while True:
            finished = done.is_set()  # read before the page, so the last page is taken after the end
            page = store.read_after(cursor, 200)
            consumed.extend(page)
            if page:
                cursor = page[-1].seq
            elif finished:
                return

    def write(w: int) -> tuple[set[str], list[Future[None]]]:
        rng = random.Random(w)
        sent: set[str] = set()
        futures: list[Future[None]] = []
        previous: list[EventRow] = []
        for r in range(rounds):
            batch = [row(ACCOUNT if w % 3 else OTHER, f"w{w}-r{r}-{i}", time_text=at(rng.randint(0, 9)))
                     for i in range(rng.randint(1, 25))]  # fmt: skip
            sent.update(b.event_id for b in batch)
            if r % 5 == 4:
                batch = batch + previous[:3]  # a client retry: already-stored rows ride along
            if r % 2:
                futures.append(store.submit(batch))
            else:
                store.append(batch)
            previous = batch
        return sent, futures

    consumer = threading.Thread(target=consume)
    consumer.start()
    with ThreadPoolExecutor(writers) as pool:
        results = list(pool.map(write, range(writers)))
    for _, futures in results:
        for future in futures:
            assert future.result(WAIT) is None
    done.set()
    consumer.join(WAIT)
    assert not consumer.is_alive()

    expected = set().union(*(sent for sent, _ in results))
    stored = everything(store)
    assert len(stored) == len(expected) == store.count_events()
    assert set(ids(stored)) == expected
    seqs = [e.seq for e in stored]
    assert seqs == sorted(set(seqs))
    # The consumer read while writers committed: it saw every event exactly once, in sequence order.
    assert ids(consumed) == ids(stored)


def test_a_completed_append_is_ordered_before_a_later_one(store: Store) -> None:
    order: list[str] = []
    lock = threading.Lock()

    def write(w: int) -> None:
        for i in range(20):
            with lock:  # the next append starts only after the previous one returned
                store.append([row(ACCOUNT, f"w{w}-{i}")])
                order.append(f"w{w}-{i}")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert ids(store.read_after(0, 1000)) == order


def test_two_open_stores_on_one_database_share_the_log(backend: Backend, store: Store) -> None:
    """Several nodes share one database; a node must see what another appended and append beside it."""
    second = backend.open()
    store.append([row(ACCOUNT, "from-first", time_text=at(1), region="ap-south-1")])
    assert ids(second.lookup(query(region="ap-south-1"))) == ["from-first"]
    second.append([row(ACCOUNT, "from-second", time_text=at(2), region="sa-east-1")])
    store.append([row(ACCOUNT, "first-again", time_text=at(3), region="sa-east-1")])
    assert ids(store.lookup(query(region="sa-east-1"))) == ["first-again", "from-second"]
    assert ids(second.read_after(0, 10)) == ["from-first", "from-second", "first-again"]
