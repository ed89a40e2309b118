"""Retention: whole ingestion days are purged, judged by when events arrived rather than their event
time, and the sequence never goes back."""

from __future__ import annotations

from opentrail.store import Store
from tests.support.databases import DAY, START, Backend
from tests.support.store import ACCOUNT, BUCKET, OTHER, at, ids, query, row, trail


def test_purge_drops_whole_ingestion_days_before_the_cutoff(backend: Backend, store: Store) -> None:
    store.append([row(ACCOUNT, f"a{i}", time_text=at(i), resources=[BUCKET]) for i in range(3)])
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, f"b{i}", time_text=at(i), resources=[BUCKET]) for i in range(2)])
    backend.clock.advance(DAY)
    store.append([row(OTHER, "c0", time_text=at(9))])
    store.insert_doc(trail("kept"))

    assert store.purge_ingested_before(100 * DAY) == 0  # day 100 is not wholly before the cutoff
    assert store.count_events() == 6
    assert store.purge_ingested_before(101 * DAY + 5) == 3
    assert store.count_events() == 3
    assert store.get_event(ACCOUNT, "a0") is None
    assert ids(store.read_after(0, 10)) == ["b0", "b1", "c0"]
    assert ids(store.lookup(query())) == ["b1", "b0"]
    assert ids(store.lookup(query(attribute="ResourceName", value=BUCKET[1]))) == ["b1", "b0"]
    assert ids(store.lookup(query(attribute="EventName", value="GetObject"))) == ["b1", "b0"]
    assert store.purge_ingested_before(101 * DAY + 5) == 0
    assert store.purge_ingested_before(102 * DAY) == 2
    assert ids(store.read_after(0, 10)) == ["c0"]
    assert store.get_doc("trail", ACCOUNT, trail("kept").arn) is not None


def test_retention_is_judged_by_ingestion_not_event_time(backend: Backend, store: Store) -> None:
    """A replayed log file keeps its original, years-old event times and stays searchable."""
    store.append([row(ACCOUNT, "old", time_text="2015-03-01T00:00:00Z")])
    assert store.purge_ingested_before(START) == 0
    found = store.lookup(query(start_ms=1425168000000, end_ms=1425168000000))
    assert ids(found) == ["old"]


def test_sequence_never_goes_back_after_a_purge(backend: Backend, store: Store) -> None:
    """Consumers keep a durable cursor; a sequence number issued again would hide new events from them."""
    store.append([row(ACCOUNT, f"a{i}") for i in range(5)])
    high = store.read_after(0, 10)[-1].seq
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, "a0")])  # the day's only ingest is a client's retry
    assert store.purge_ingested_before(START + DAY) == 5
    backend.clock.advance(DAY)
    store.append([row(ACCOUNT, "new")])
    assert ids(store.read_after(high, 10)) == ["new"]
