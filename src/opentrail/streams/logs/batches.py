"""PutLogEvents: a batch checked by AWS's rules, split into the events kept and those rejected for
their time, and appended in one transaction.

The rules (the logs model's documentation): 1-10,000 events; at most 1,048,576 bytes counting each
message's UTF-8 bytes plus 26 per event; timestamps in chronological order; events more than 2 hours
in the future, older than 14 days, or older than the group's retention are rejected (reported in
``rejectedLogEventsInfo``) while the rest are stored; the events kept may span at most 24 hours.
``sequenceToken`` is accepted and ignored, as AWS now does.

Index conventions (AWS leaves them implicit): ``tooOldLogEventEndIndex`` and
``expiredLogEventEndIndex`` are exclusive ends (the events before them were rejected),
``tooNewLogEventStartIndex`` is the first event rejected as too new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentrail import params
from opentrail.clock import to_millis
from opentrail.context import Call
from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.store.logs import EVENT_OVERHEAD
from opentrail.streams.logs.requests import (
    GROUP_NOT_FOUND,
    MAX_LONG,
    STREAM_NOT_FOUND,
    existing_group,
    group_name,
    invalid,
    stream_name,
    touch_group,
    typed,
)
from opentrail.streams.logs.streams import sequence_token

MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
MAX_AGE_MS = 14 * DAY_MS
MAX_FUTURE_MS = 2 * HOUR_MS
MAX_SPAN_MS = DAY_MS


@dataclass(frozen=True)
class Split:
    """Which events of a batch are kept: ``[start, end)``; the rejection indexes as AWS reports them."""

    start: int
    end: int
    rejected: dict[str, int]


def checked_events(p: params.Params) -> list[tuple[int, str]]:
    """The batch as (timestamp, message), refused whole when it breaks a rule of its shape."""
    raw = params.array(p, "logEvents", required=True) or []
    if not 1 <= len(raw) <= MAX_EVENTS:
        raise invalid(f"{len(raw)} events", "logEvents", f"have length between 1 and {MAX_EVENTS}")
    events: list[tuple[int, str]] = []
    size = 0
    for index, item in enumerate(raw):
        event = params.structure(item, f"logEvents.{index + 1}")
        timestamp = params.integer(event, "timestamp")
        message = params.string(event, "message")
        if timestamp is None or message is None:
            raise InvalidParameter(f"logEvents.{index + 1} needs a timestamp and a message")
        if timestamp > MAX_LONG:
            raise invalid(
                timestamp,
                f"logEvents.{index + 1}.member.timestamp",
                f"have value less than or equal to {MAX_LONG}",
            )
        if timestamp < 0:
            raise invalid(
                timestamp, f"logEvents.{index + 1}.member.timestamp", "have value greater than or equal to 0"
            )
        if not message:
            raise invalid(
                message, f"logEvents.{index + 1}.member.message", "have length greater than or equal to 1"
            )
        size += len(message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD
        events.append((timestamp, message))
    if size > MAX_BATCH_BYTES:
        raise InvalidParameter(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    if any(events[i][0] > events[i + 1][0] for i in range(len(events) - 1)):
        raise InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
    return events


def split(events: list[tuple[int, str]], now: int, retention_days: int | None) -> Split:
    """The events kept of a chronological batch, and why the others were rejected."""
    times = [t for t, _ in events]
    rejected: dict[str, int] = {}
    too_old = sum(1 for t in times if t < now - MAX_AGE_MS)
    if too_old:
        rejected["tooOldLogEventEndIndex"] = too_old
    expired = 0
    if retention_days is not None:
        expired = sum(1 for t in times if t < now - retention_days * DAY_MS)
        if expired:
            rejected["expiredLogEventEndIndex"] = expired
    too_new = next((i for i, t in enumerate(times) if t > now + MAX_FUTURE_MS), len(times))
    if too_new < len(times):
        rejected["tooNewLogEventStartIndex"] = too_new
    start = max(too_old, expired)
    end = max(start, too_new)
    if end > start and times[end - 1] - times[start] > MAX_SPAN_MS:
        raise InvalidParameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        )
    return Split(start, end, rejected)


def put_log_events(call: Call, p: params.Params) -> dict[str, Any]:
    group, stream = group_name(p), stream_name(p)
    # Accepted and ignored: AWS ignores sequence tokens now; entities are for its Explore related.
    typed(p, sequenceToken="string", entity="structure")
    typed(p.get("entity") or {}, keyAttributes="structure", attributes="structure")
    events = checked_events(p)
    now = to_millis(call.now)
    kept = split(events, now, existing_group(call, group).retention_days)
    logs = call.store.logs
    try:
        logs.append(call.account, call.region, group, stream, events[kept.start : kept.end], ingested=now)
    except KeyError as missing:
        raise ResourceNotFound(STREAM_NOT_FOUND if missing.args[0] == stream else GROUP_NOT_FOUND) from None
    touch_group(call, group)
    try:
        found = logs.stream(call.account, call.region, group, stream)
    except KeyError:  # deleted since: the events went with it, and so does the token
        found = None
    result: dict[str, Any] = {}
    if found is not None and found.last_seq is not None:
        result["nextSequenceToken"] = sequence_token(found.last_seq)
    if kept.rejected:
        result["rejectedLogEventsInfo"] = kept.rejected
    return result


OPERATIONS = {"PutLogEvents": put_log_events}
