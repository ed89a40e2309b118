"""FilterLogEvents: a group's events across its streams, oldest first, that match a filter pattern.

Each call scans at most ``SCAN_BUDGET`` events; when it stops before the end of the range it returns a
``nextToken`` (sealed, bound to the call's parameters) even with fewer than ``limit`` events, or none,
as AWS documents ("a returned page might be partially full, or even empty"). ``searchedLogStreams`` is
always empty, as AWS has returned it since 2020. ``endTime`` is inclusive here (AWS: "events with a
timestamp later than this time are not returned"), unlike GetLogEvents'.
"""

from __future__ import annotations

from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.store.logs import EVENT_OVERHEAD, LogEvent, Position
from opentrail.streams.logs import pages
from opentrail.streams.logs.matching import compile_filter
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


def filter_log_events(call: Call, p: params.Params) -> dict[str, Any]:
    typed(p, startFromHead="boolean", interleaved="boolean", unmask="boolean")
    group = identified_group(call, p)
    streams, prefix = _stream_names(p), optional_prefix(p, "logStreamNamePrefix", STREAM_NAME)
    if streams is not None and prefix is not None:
        raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive.")
    start, end = millis(p, "startTime"), millis(p, "endTime")
    text = params.string(p, "filterPattern", max_len=MAX_PATTERN) or ""
    pattern = compile_filter(text)
    count = limit(p, "limit", 10_000, 10_000)
    scope = pages.scope("FilterLogEvents", call, [group, streams, prefix, start, end, text])
    opened = pages.position(call, p, scope)
    where: Position | None = None if opened is None else (int(opened[0]), int(opened[1]))
    found: list[LogEvent] = []
    scanned = size = 0
    more = True
    while len(found) < count and scanned < SCAN_BUDGET and size < MAX_PAGE_BYTES:
        try:
            batch = call.store.logs.group_events(
                call.account,
                call.region,
                group,
                streams=streams,
                prefix=prefix,
                start=start,
                end=None if end is None else min(end, MAX_LONG - 1) + 1,
                after=where,
                limit=SCAN_BATCH,
            )
        except KeyError:
            raise ResourceNotFound(GROUP_NOT_FOUND) from None
        for event in batch:
            where = (event.timestamp, event.seq)
            scanned += 1
            if pattern.matches(event.message):
                found.append(event)
                size += len(event.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD
                if len(found) >= count or size >= MAX_PAGE_BYTES:
                    break
        if len(batch) < SCAN_BATCH and where == _last(batch, where):
            more = False
            break
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
        result["nextToken"] = pages.token(call, scope, list(where))
    return result


def _last(batch: list[LogEvent], where: Position | None) -> Position | None:
    """The position of the batch's last event (``where`` for an empty batch)."""
    return (batch[-1].timestamp, batch[-1].seq) if batch else where


OPERATIONS = {"FilterLogEvents": filter_log_events}
