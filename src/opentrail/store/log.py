"""What both backends' event logs do alike: a row's resources as stored, a stored row back to an event,
and the page arithmetic of history lookups. Layouts, SQL and indexes differ by schema and stay in
``sqlite/events.py`` and ``postgres/events.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.store.base import EventQuery

__all__ = ["decode_resources", "encode_resources", "names_resource", "newest", "stored_event", "window_of"]

_KINDS = tuple(Kind)  # Kind(n) costs an enum lookup per row; indexing a tuple does not
decode_resources = msgspec.json.Decoder(list[tuple[str | None, str | None]]).decode  # (type, ARN) pairs
_encode = msgspec.json.Encoder().encode


def encode_resources(resources: Sequence[tuple[str | None, str | None]]) -> bytes | None:
    """A row's resources column: its (type, ARN) pairs as JSON, NULL when there are none."""
    return _encode(resources) if resources else None


def stored_event(
    seq: int,
    account: str,
    region: str,
    kind: int,
    time_ms: int,
    event_id: str,
    event_name: str | None,
    event_source: str | None,
    read_only: int | None,
    username: str | None,
    access_key: str | None,
    record: bytes,
    resources: bytes | None,
    facts: bytes | None,
) -> StoredEvent:
    """An event from a log row's columns, in this order (SQLite's rows come this way). Resources come
    from their column, so LookupEvents need not parse each record to show them."""
    return StoredEvent(
        seq,
        EventRow(
            account,
            region,
            _KINDS[kind],
            time_ms,
            event_id,
            event_name,
            event_source,
            None if read_only is None else read_only == 1,
            username,
            access_key,
            record,
            () if resources is None else decode_resources(resources),
            facts,
        ),
    )


def window_of(query: EventQuery) -> tuple[int, int, int, int]:
    """A lookup's bounds: (first time, last time, cursor time, cursor seq); rows from the cursor on are
    excluded. The cursor caps the time range too (entries before it have time <= cursor time): SQLite
    seeks an index only on the plain bounds, not on the row value, so without this a page N events deep
    scanned N index entries (bench.lookup, 250,000 events deep: 47 ms of SQL before, 0.3 ms now)."""
    cursor_time, cursor_seq = query.before or (query.end_ms + 1, 0)
    return query.start_ms, min(query.end_ms, cursor_time), cursor_time, cursor_seq


def newest(rows: list[tuple[Any, ...]], limit: int, time_at: int) -> list[tuple[Any, ...]]:
    """The ``limit`` newest rows by (time, seq): ``row[time_at]``, then the sequence in ``row[0]``."""
    return sorted(rows, key=lambda row: (row[time_at], row[0]), reverse=True)[:limit]


def names_resource(resources: bytes | None, at: int, value: str) -> bool:
    """A resources column names ``value`` as a type (``at`` 0) or an ARN (``at`` 1)."""
    return resources is not None and any(pair[at] == value for pair in decode_resources(resources))
