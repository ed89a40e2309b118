"""FilterLogEvents: a group's events across its streams that match a filter pattern, in time order.

Oldest first by default; ``startFromHead: false`` gives the newest first (with a ``startTime``, only
from 2024 on, as AWS allows), and a ``nextToken`` keeps the direction it was made in. Each call scans
at most ``SCAN_BUDGET`` events; when it stops before the end of the range it returns a
``nextToken`` (sealed, bound to the call's parameters) even with fewer than ``limit`` events, or none,
as AWS documents ("a returned page might be partially full, or even empty"). ``searchedLogStreams`` is
always empty, as AWS has returned it since 2020. ``endTime`` is inclusive here (AWS: "events with a
timestamp later than this time are not returned"), unlike GetLogEvents'.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.store.logs import EVENT_OVERHEAD, LogEvent, Position
from opentrail.streams.logs import pages
from opentrail.streams.logs.matching import CompiledPattern, compile_filter
from opentrail.streams.logs.requests import (
    GROUP_NOT_FOUND,
    MAX_LONG,
    STREAM_NAME,
    identified_group,
    invalid,
    limit,
    millis,
    name,
    optional_prefix,
    typed,
)

SCAN_BATCH = 1_000
SCAN_BUDGET = 50_000
MAX_PAGE_BYTES = 1_048_576
MAX_PATTERN = 1024
NEWEST_FIRST_SINCE = 1_704_067_200_000  # 2024-01-01T00:00:00Z, in ms


def _stream_names(p: params.Params) -> list[str] | None:
    values = params.array(p, "logStreamNames")
    if values is None:
        return None
    if not 1 <= len(values) <= 100:
        raise invalid(f"{len(values)} names", "logStreamNames", "have length between 1 and 100")
    return [name(value, "logStreamNames.member", STREAM_NAME) for value in values]


def event_id(event: LogEvent) -> str:
    """An eventId: AWS's are 56 digits; ours are the event's sequence number, padded as long."""
    return f"{event.seq:056d}"


@dataclass(frozen=True)
class Search:
    """One FilterLogEvents call's question: which group's events, in what order, matching what."""

    group: str
    streams: list[str] | None
    prefix: str | None
    start: int | None
    end: int | None  # inclusive
    pattern: CompiledPattern
    descending: bool
    count: int


def _query(call: Call, p: params.Params) -> Search:
    typed(p, interleaved="boolean", unmask="boolean")
    group = identified_group(call, p)
    streams, prefix = _stream_names(p), optional_prefix(p, "logStreamNamePrefix", STREAM_NAME)
    if streams is not None and prefix is not None:
        raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    start, end = millis(p, "startTime"), millis(p, "endTime")
    descending = params.boolean(p, "startFromHead") is False
    if descending and start is not None and start < NEWEST_FIRST_SINCE:
        raise InvalidParameter(
            "startFromHead false is supported only with a startTime on or after Jan 1, 2024 00:00:00 UTC."
        )
    text = params.string(p, "filterPattern", max_len=MAX_PATTERN) or ""
    count = limit(p, "limit", 10_000, 10_000)
    return Search(group, streams, prefix, start, end, compile_filter(text), descending, count)


def _scan(call: Call, q: Search, where: Position | None) -> tuple[list[LogEvent], Position | None, bool]:
    """The matching events from ``where`` on (in the search's order), where the scan stopped, and
    whether events may remain past it."""
    found: list[LogEvent] = []
    scanned = size = 0
    end = None if q.end is None else min(q.end, MAX_LONG - 1) + 1
    while len(found) < q.count and scanned < SCAN_BUDGET and size < MAX_PAGE_BYTES:
        try:
            batch = call.store.logs.group_events(
                call.account,
                call.region,
                q.group,
                streams=q.streams,
                prefix=q.prefix,
                start=q.start,
                end=end,
                after=None if q.descending else where,
                before=where if q.descending else None,
                descending=q.descending,
                limit=SCAN_BATCH,
            )
        except KeyError:
            raise ResourceNotFound(GROUP_NOT_FOUND) from None
        for taken, event in enumerate(batch, 1):
            where = (event.timestamp, event.seq)
            scanned += 1
            if q.pattern.matches(event.message):
                found.append(event)
                size += len(event.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD
                if len(found) >= q.count or size >= MAX_PAGE_BYTES:
                    return found, where, taken < len(batch) or len(batch) == SCAN_BATCH
        if len(batch) < SCAN_BATCH:
            return found, where, False
    return found, where, True


def filter_log_events(call: Call, p: params.Params) -> dict[str, Any]:
    q = _query(call, p)
    scope = pages.scope(
        "FilterLogEvents", call, [q.group, q.streams, q.prefix, q.start, q.end, q.pattern.text]
    )
    opened = pages.position(call, p, scope)
    if opened is not None:
        # A token carries its direction, whatever startFromHead says now (as AWS documents).
        q = dataclasses.replace(q, descending=bool(opened[2]))
    where: Position | None = None if opened is None else (int(opened[0]), int(opened[1]))
    found, where, more = _scan(call, q, where)
    result: dict[str, Any] = {
        "events": [
            {
                "logStreamName": e.stream,
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
                "eventId": event_id(e),
            }
            for e in found
        ],
        "searchedLogStreams": [],
    }
    if more and where is not None:
        result["nextToken"] = pages.token(call, scope, [*where, q.descending])
    return result


OPERATIONS = {"FilterLogEvents": filter_log_events}
