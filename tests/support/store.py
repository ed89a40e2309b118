"""Event rows for the store's tests (one management record per event id, indexed as ingest does), and the
whole log read back."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.ingest.records import index_record
from opentrail.store import LogRow, Store

ACCOUNTS = ("111111111111", "222222222222")
T0_MS = 1714564800000  # the records' eventTime, 2024-05-01T12:00:00Z


def record(event_id: str, region: str = "us-east-1", **fields: Any) -> bytes:
    """A management record of 2024-05-01T12:00:00Z; ``fields`` replace or add record fields."""
    return json.dumps(
        {
            "eventVersion": "1.11",
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": region,
            "eventID": event_id,
            "eventCategory": "Management",
            **fields,
        }
    ).encode()


def event_row(
    event_id: str, account: str = ACCOUNTS[0], region: str = "us-east-1", **fields: Any
) -> EventRow:
    """``record``'s row as ingest indexes it for ``account``."""
    return index_record(record(event_id, region, **fields), account)


def rows(prefix: str, count: int) -> list[EventRow]:
    """``count`` rows with ids ``<prefix>-<n>``, of the two ``ACCOUNTS`` in turn."""
    return [index_record(record(f"{prefix}-{i}"), ACCOUNTS[i % 2]) for i in range(count)]


def everything(store: Store) -> list[StoredEvent]:
    """Every stored event, in sequence order, read forward a page at a time."""
    events: list[StoredEvent] = []
    cursor = 0
    while page := store.read_after(cursor, 1000):
        events.extend(page)
        cursor = page[-1].seq
    return events


# Five rows for the tests of the backends' ``log_rows``: the range read of chosen streams behind
# ``Store.read_log``. Stored in this order they are numbered 1 to 5.
LOG_ROWS = [
    event_row("e1"),
    event_row("o1", ACCOUNTS[1]),
    event_row("w1", region="eu-west-1"),
    event_row("e2", readOnly=True),
    event_row("e3"),
]


def check_log_rows(log_rows: Callable[[int, int, list[int]], list[LogRow]], east: int, west: int) -> None:
    """``log_rows(after, bound, streams)`` of a log holding ``LOG_ROWS``, whose first account's streams
    in us-east-1 and eu-west-1 are ``east`` and ``west``: the rows after ``after`` up to and including
    ``bound`` of those streams alone, in sequence order, as Python values."""
    rows = log_rows(1, 4, [east, west])
    assert [(r[0], r[1]) for r in rows] == [(3, west), (4, east)]
    _, _, kind, read_only, source, time_ms, record, facts = rows[1]
    assert (kind, read_only, source, time_ms, facts) == (
        int(Kind.MANAGEMENT),
        1,
        "s3.amazonaws.com",
        T0_MS,
        None,
    )
    assert isinstance(record, bytes)
    assert json.loads(record)["eventID"] == "e2"
    assert [r[0] for r in log_rows(0, 10, [east])] == [1, 4, 5]
    assert log_rows(5, 10, [east, west]) == []
