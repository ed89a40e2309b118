"""GetLogEvents: one stream's events in a time range, paged forward and backward with AWS's token
shapes.

A token is ``f/<56 digits>/s`` (read forward from there) or ``b/<56 digits>/s`` (read backward), as
AWS's look; the digits hold the (timestamp, seq) position of the event the page ended on. A page that
finds nothing returns the token it was given, which is how clients know they reached the end. Without
a token, ``startFromHead`` picks the oldest events (true) or the newest (false, the default); either
way a page lists its events oldest first. Pages stop at ``limit`` events or 1 MB of messages.
"""

from __future__ import annotations

import re
from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.store.logs import EVENT_OVERHEAD, LogEvent, Position
from opentrail.streams.logs.requests import (
    GROUP_NOT_FOUND,
    MAX_LONG,
    STREAM_NOT_FOUND,
    identified_group,
    limit,
    millis,
    stream_name,
    typed,
)

TOKEN = re.compile(r"([fb])/([0-9]{28})([0-9]{28})/s")
MAX_PAGE_BYTES = 1_048_576
END_OF_TIME = MAX_LONG  # past any timestamp


def token(direction: str, where: Position) -> str:
    return f"{direction}/{where[0]:028d}{where[1]:028d}/s"


def parse_token(text: str) -> tuple[str, Position]:
    found = TOKEN.fullmatch(text)
    where = (int(found.group(2)), int(found.group(3))) if found is not None else (0, 0)
    if found is None or max(where) > MAX_LONG:
        raise InvalidParameter("The specified nextToken is invalid.")
    return found.group(1), where


def fitted(events: list[LogEvent], backward: bool) -> list[LogEvent]:
    """The events that fit one page of ``MAX_PAGE_BYTES``, kept from the end read first."""
    ordered = events[::-1] if backward else events
    kept: list[LogEvent] = []
    size = 0
    for event in ordered:
        size += len(event.message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD
        if kept and size > MAX_PAGE_BYTES:
            break
        kept.append(event)
    return kept[::-1] if backward else kept


def get_log_events(call: Call, p: params.Params) -> dict[str, Any]:
    typed(p, unmask="boolean")
    group, stream = identified_group(call, p), stream_name(p)
    start, end = millis(p, "startTime"), millis(p, "endTime")
    count = limit(p, "limit", 10_000, 10_000)
    given = params.string(p, "nextToken")
    if given is not None:
        direction, where = parse_token(given)
    elif params.boolean(p, "startFromHead"):
        direction, where = "f", (start or 0, 0)
    else:
        direction, where = "b", (END_OF_TIME if end is None else end, 0)
    backward = direction == "b"
    try:
        found = call.store.logs.stream_events(
            call.account,
            call.region,
            group,
            stream,
            start=start,
            end=end,
            after=None if backward else where,
            before=where if backward else None,
            backward=backward,
            limit=count,
        )
    except KeyError as missing:
        raise ResourceNotFound(STREAM_NOT_FOUND if missing.args[0] == stream else GROUP_NOT_FOUND) from None
    events = fitted(found, backward)
    if events:
        first, last = (events[0].timestamp, events[0].seq), (events[-1].timestamp, events[-1].seq)
    else:
        first = last = where
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
            for e in events
        ],
        "nextForwardToken": given if given and not events and not backward else token("f", last),
        "nextBackwardToken": given if given and not events and backward else token("b", first),
    }


OPERATIONS = {"GetLogEvents": get_log_events}
