"""Event rows for the store's tests (one management record per event id, indexed as ingest does), and the
whole log read back."""

from __future__ import annotations

import json

from opentrail.events import EventRow, StoredEvent
from opentrail.ingest.records import index_record
from opentrail.store import Store

ACCOUNTS = ("111111111111", "222222222222")


def record(event_id: str, region: str = "us-east-1") -> bytes:
    return json.dumps(
        {
            "eventVersion": "1.11",
            "eventTime": "2024-05-01T12:00:00Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": region,
            "eventID": event_id,
            "eventCategory": "Management",
        }
    ).encode()


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
