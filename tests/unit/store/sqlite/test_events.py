"""The SQLite event log's SQL (``store/sqlite/events.py``), run on a migrated database with the module's
own functions, so a test decides what history has indexed and what is still the log's tail: rows are
numbered in commit order from the next sequence number, a stored event sent again leaves a gap and no
number is given twice; history is indexed in passes of at most ``limit`` events behind its cursor;
a lookup or an event id finds the same events whether history or the tail holds them; ``log_rows`` is
the forward read of chosen streams. What every backend promises is ``tests/contract/store/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.store import EventQuery
from opentrail.store.sqlite import events
from opentrail.store.sqlite.history import attach_history, open_history
from opentrail.store.sqlite.store import SQLiteStore, connect
from tests.support.store import LOG_ROWS, check_log_rows, event_row

ACCOUNT, OTHER = "111111111111", "222222222222"
T0_MS = 1714564800000


def row(event_id: str, *, account: str = ACCOUNT, region: str = "us-east-1", **fields: Any) -> EventRow:
    return event_row(event_id, account, region, **fields)


class Log:
    """A migrated SQLite log and its history file, written and indexed by hand."""

    def __init__(self, path: Path) -> None:
        SQLiteStore(str(path)).close()  # creates and migrates both files
        self.conn = connect(str(path))
        attach_history(self.conn, str(path))
        self.history = open_history(str(path))
        self.streams: dict[tuple[str, str], int] = {}

    def close(self) -> None:
        self.conn.close()
        self.history.close()

    def stream(self, account: str, region: str) -> int:
        if (account, region) not in self.streams:
            cursor = self.conn.execute(
                "INSERT INTO streams (account, region) VALUES (?, ?)", (account, region)
            )
            assert cursor.lastrowid is not None
            self.streams[(account, region)] = cursor.lastrowid
        return self.streams[(account, region)]

    def insert(self, rows: list[EventRow]) -> int:
        self.conn.execute("BEGIN IMMEDIATE")
        last = events.insert_events(self.conn, [(self.stream(r.account, r.region), r) for r in rows])
        self.conn.execute("COMMIT")
        return last

    def index(self, limit: int = 50_000) -> int:
        self.history.execute("BEGIN")
        done = events.index_history(self.history, limit)
        self.history.execute("COMMIT")
        return done

    def lookup(
        self, attribute: str | None = None, value: str | None = None, region: str = "us-east-1"
    ) -> list[str]:
        query = EventQuery(ACCOUNT, region, Kind.MANAGEMENT, 0, 2**62, 50, attribute, value)
        return ids(events.lookup(self.conn, self.stream(ACCOUNT, region), query))


def ids(found: list[StoredEvent]) -> list[str]:
    return [event.row.event_id for event in found]


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    log = Log(tmp_path / "opentrail.db")
    yield log
    log.close()


def test_rows_are_numbered_in_order_across_statements(log: Log) -> None:
    """A group goes in 250 rows a statement: numbering runs on across them."""
    assert events.next_seq(log.conn) == 1
    assert log.insert([row(f"e{i:03d}") for i in range(601)]) == 601
    stored = events.read_after(log.conn, 0, 1000)
    assert [(e.seq, e.row.event_id) for e in stored] == [(i + 1, f"e{i:03d}") for i in range(601)]
    assert events.high_seq(log.conn) == 601
    assert log.insert([row("next")]) == 602


def test_an_event_sent_again_leaves_a_gap_and_no_number_is_given_twice(log: Log) -> None:
    log.insert([row("e1"), row("e2")])
    assert log.insert([row("e2"), row("e3")]) == 4  # number 3 went to the retry, which is skipped
    assert [(e.seq, e.row.event_id) for e in events.read_after(log.conn, 0, 10)] == [
        (1, "e1"),
        (2, "e2"),
        (4, "e3"),
    ]
    assert events.high_seq(log.conn) == 4
    assert log.insert([row("e4")]) == 5
    assert ids(events.read_after(log.conn, 2, 10)) == ["e3", "e4"]


def test_history_is_indexed_in_passes_behind_its_cursor(log: Log) -> None:
    assert log.index() == 0  # nothing to index yet
    log.insert([row(f"e{i}") for i in range(5)])
    assert (log.index(limit=2), events.history_cursor(log.conn)) == (2, 2)
    assert (log.index(limit=2), events.history_cursor(log.conn)) == (2, 4)
    assert (log.index(limit=2), events.history_cursor(log.conn)) == (1, 5)
    assert log.index(limit=2) == 0
    entries = log.conn.execute("SELECT count(*) FROM history").fetchone()[0]
    # A pass made again (a history file that rolled back its cursor) adds nothing.
    log.history.execute("UPDATE history_cursor SET seq = 0")
    assert log.index() == 5
    assert log.conn.execute("SELECT count(*) FROM history").fetchone()[0] == entries


@pytest.mark.parametrize("indexed", [0, 2, 4], ids=["all-in-the-tail", "half-indexed", "all-indexed"])
def test_lookups_find_the_same_events_in_history_and_in_the_tail(log: Log, indexed: int) -> None:
    log.insert(
        [
            row("put", eventTime="2024-05-01T12:00:01Z", eventName="PutObject", readOnly=False),
            row(
                "get",
                eventTime="2024-05-01T12:00:02Z",
                readOnly=True,
                resources=[("AWS::S3::Object", "arn:aws:s3:::b/k")],
            ),
            row(
                "list",
                eventTime="2024-05-01T12:00:03Z",
                readOnly=True,
                resources=[("AWS::S3::Bucket", "arn:aws:s3:::b")],
            ),
            row("west", region="eu-west-1", eventTime="2024-05-01T12:00:04Z", readOnly=True),
        ]
    )
    if indexed:
        log.index(limit=indexed)
    assert log.lookup() == ["list", "get", "put"]
    assert log.lookup("ReadOnly", "true") == ["list", "get"]
    assert log.lookup("ReadOnly", "false") == ["put"]
    assert log.lookup("EventName", "PutObject") == ["put"]
    # A resource name is the whole ARN, not a prefix of another.
    assert log.lookup("ResourceName", "arn:aws:s3:::b") == ["list"]
    assert log.lookup("ResourceType", "AWS::S3::Object") == ["get"]
    assert log.lookup(region="eu-west-1") == ["west"]
    # An event id is looked up in the stream (account and region) asked about.
    assert (log.lookup("EventId", "get"), log.lookup("EventId", "west")) == (["get"], [])
    assert log.lookup("EventId", "west", region="eu-west-1") == ["west"]
    # ReadOnly is "true" or "false": any other value matches no event.
    for value in ("TRUE", "1", ""):
        assert log.lookup("ReadOnly", value) == []


@pytest.mark.parametrize("indexed", [False, True], ids=["in-the-tail", "indexed"])
def test_an_event_id_finds_its_event_in_any_stream_of_the_account(log: Log, indexed: bool) -> None:
    log.insert([row("a", region="eu-west-1"), row("b", account=OTHER), row("c")])
    if indexed:
        log.index()
    found = events.find_event(log.conn, ACCOUNT, "a")
    assert found is not None
    assert (found.seq, found.row.region) == (1, "eu-west-1")
    assert events.find_event(log.conn, ACCOUNT, "b") is None  # another account's
    assert events.find_event(log.conn, OTHER, "b") is not None


@pytest.mark.parametrize(
    "indexed",
    [True, False],
    ids=["indexed", "in-the-tail"],
)
def test_an_event_id_stored_twice_finds_the_first_stored(log: Log, indexed: bool) -> None:
    """The same id in two regions of an account (a record copied with another time): the first wins."""
    log.insert([row("dup", region="us-east-1", eventTime="2024-05-01T12:00:00Z")])
    log.insert([row("dup", region="eu-west-1", eventTime="2024-04-01T12:00:00Z")])
    if indexed:
        log.index()
    found = events.find_event(log.conn, ACCOUNT, "dup")
    assert found is not None
    assert (found.seq, found.row.region) == (1, "us-east-1")


def test_log_rows_read_a_range_of_chosen_streams(log: Log) -> None:
    log.insert(LOG_ROWS)
    east, west = log.stream(ACCOUNT, "us-east-1"), log.stream(ACCOUNT, "eu-west-1")
    check_log_rows(lambda after, bound, streams: events.log_rows(log.conn, after, bound, streams), east, west)


def test_the_sequence_lives_on_when_the_log_is_emptied(log: Log) -> None:
    log.insert([row("e1"), row("e2")])
    log.conn.execute("DELETE FROM events")
    assert (events.next_seq(log.conn), events.high_seq(log.conn)) == (3, 2)
    assert log.insert([row("e3")]) == 3
