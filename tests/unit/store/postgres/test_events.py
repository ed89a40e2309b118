"""Reading the PostgreSQL event log (``store/postgres/events.py``) with the module's own functions on a
database the store filled: the forward read walks day partitions whose sequence ranges overlap (nodes
whose clocks disagree on the day) without skipping or repeating an event; an event id finds the first
stored event of its account, and a lookup by EventId only its stream's; ReadOnly is "true" or "false";
``log_rows`` reads a range of chosen streams across days, as Python values. Lookups across partitions
and the contract every backend passes are tested in ``test_store.py`` and ``tests/contract``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from opentrail.clock import FixedClock
from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.store import EventQuery, Store, open_store
from opentrail.store.postgres import events
from tests.support.store import LOG_ROWS, check_log_rows, event_row

DAY = 86400
ACCOUNT, OTHER = "111111111111", "222222222222"
T0_MS = 1714564800000


def row(event_id: str, *, account: str = ACCOUNT, region: str = "us-east-1", **fields: Any) -> EventRow:
    return event_row(event_id, account, region, **fields)


class Nodes:
    """Stores on one database, each with a clock of its own (the day it ingests on), and a plain
    connection on the database for the module's functions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stores: list[Store] = []
        self.conn = psycopg.connect(url)

    def node(self, day: int) -> Store:
        store = open_store(self.url, FixedClock(day * DAY + 3600))
        self.stores.append(store)
        return store

    def stream(self, account: str, region: str) -> int:
        found = self.conn.execute(
            "SELECT id FROM streams WHERE account = %s AND region = %s", (account, region)
        ).fetchone()
        self.conn.rollback()
        assert found is not None
        return int(found[0])

    def close(self) -> None:
        self.conn.close()
        for store in self.stores:
            store.close()


@pytest.fixture
def nodes(url: str) -> Iterator[Nodes]:
    nodes = Nodes(url)
    yield nodes
    nodes.close()


def ids(found: list[StoredEvent]) -> list[str]:
    return [event.row.event_id for event in found]


def test_the_forward_read_walks_days_whose_ranges_overlap(nodes: Nodes) -> None:
    """Three nodes a day apart append in turn, so each day's partition holds every third number."""
    stores = [nodes.node(day) for day in (100, 101, 102)]
    sent = []
    for i in range(12):
        stores[i % 3].append([row(f"e{i:02d}")])
        sent.append(f"e{i:02d}")
    for limit in (1, 2, 3, 5, 50):
        for start in range(13):
            found = events.read_after(nodes.conn, start, limit, {})
            nodes.conn.rollback()
            assert [e.seq for e in found] == list(range(start + 1, min(start + limit, 12) + 1)), (
                start,
                limit,
            )
            assert ids(found) == sent[start : start + limit]


def test_events_are_named_from_the_streams_they_are_in(nodes: Nodes) -> None:
    nodes.node(100).append([row("east"), row("west", region="eu-west-1"), row("theirs", account=OTHER)])
    names: events.Names = {}
    found = events.read_after(nodes.conn, 0, 10, names)
    assert [(e.row.account, e.row.region) for e in found] == [
        (ACCOUNT, "us-east-1"),
        (ACCOUNT, "eu-west-1"),
        (OTHER, "us-east-1"),
    ]
    assert names == {
        nodes.stream(ACCOUNT, "us-east-1"): (ACCOUNT, "us-east-1"),
        nodes.stream(ACCOUNT, "eu-west-1"): (ACCOUNT, "eu-west-1"),
        nodes.stream(OTHER, "us-east-1"): (OTHER, "us-east-1"),
    }


def test_an_event_id_stored_twice_finds_the_first_stored(nodes: Nodes) -> None:
    """The same id in two regions of an account, a day apart (a record copied with another time)."""
    nodes.node(100).append([row("dup", region="us-east-1", eventTime="2024-05-01T12:00:00Z")])
    nodes.node(101).append([row("dup", region="eu-west-1", eventTime="2024-04-01T12:00:00Z")])
    found = events.find_event(nodes.conn, ACCOUNT, "dup", {})
    assert found is not None
    assert (found.seq, found.row.region) == (1, "us-east-1")
    assert events.find_event(nodes.conn, OTHER, "dup", {}) is None


def lookup(nodes: Nodes, attribute: str, value: str, region: str = "us-east-1") -> list[str]:
    query = EventQuery(ACCOUNT, region, Kind.MANAGEMENT, 0, 2**62, 50, attribute, value)
    found = events.lookup(nodes.conn, nodes.stream(ACCOUNT, region), query)
    nodes.conn.rollback()
    return ids(found)


def test_a_lookup_by_event_id_finds_its_streams_event_alone(nodes: Nodes) -> None:
    nodes.node(100).append([row("east"), row("west", region="eu-west-1")])
    nodes.node(101).append([row("later")])
    assert lookup(nodes, "EventId", "east") == ["east"]
    assert lookup(nodes, "EventId", "later") == ["later"]
    assert lookup(nodes, "EventId", "west") == []
    assert lookup(nodes, "EventId", "west", region="eu-west-1") == ["west"]


def test_read_only_is_true_or_false_and_other_attributes_are_refused(nodes: Nodes) -> None:
    nodes.node(100).append([row("r", readOnly=True), row("w", readOnly=False)])
    assert (lookup(nodes, "ReadOnly", "true"), lookup(nodes, "ReadOnly", "false")) == (["r"], ["w"])
    for value in ("TRUE", "1", ""):
        assert lookup(nodes, "ReadOnly", value) == []
    with pytest.raises(ValueError, match="unknown lookup attribute 'Region'"):
        lookup(nodes, "Region", "us-east-1")


def test_log_rows_read_a_range_of_chosen_streams_across_days(nodes: Nodes) -> None:
    nodes.node(100).append(LOG_ROWS[:3])
    nodes.node(101).append(LOG_ROWS[3:])
    east, west = nodes.stream(ACCOUNT, "us-east-1"), nodes.stream(ACCOUNT, "eu-west-1")
    check_log_rows(
        lambda after, bound, streams: events.log_rows(nodes.conn, after, bound, streams), east, west
    )
