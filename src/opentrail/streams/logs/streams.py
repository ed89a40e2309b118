"""CreateLogStream, DeleteLogStream and DescribeLogStreams: the streams of one log group."""

from __future__ import annotations

from typing import Any

from opentrail import params
from opentrail.clock import to_millis
from opentrail.context import Call
from opentrail.errors import ConflictError, InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from opentrail.store.logs import LogStream
from opentrail.streams.logs import pages
from opentrail.streams.logs.requests import (
    GROUP_NOT_FOUND,
    STREAM_NAME,
    STREAM_NOT_FOUND,
    group_name,
    identified_group,
    invalid,
    limit,
    optional_prefix,
    stream_name,
    touch_group,
)

ORDERS = ("LogStreamName", "LastEventTime")


def create_log_stream(call: Call, p: params.Params) -> dict[str, Any]:
    group, stream = group_name(p), stream_name(p)
    try:
        call.store.logs.create_stream(call.account, call.region, group, stream, to_millis(call.now))
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    except ConflictError:
        raise ResourceAlreadyExists("The specified log stream already exists") from None
    touch_group(call, group)
    return {}


def delete_log_stream(call: Call, p: params.Params) -> dict[str, Any]:
    group, stream = group_name(p), stream_name(p)
    try:
        deleted = call.store.logs.delete_stream(call.account, call.region, group, stream)
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    if not deleted:
        raise ResourceNotFound(STREAM_NOT_FOUND)
    touch_group(call, group)
    return {}


def stream_arn(call: Call, group: str, stream: str) -> str:
    return f"arn:aws:logs:{call.region}:{call.account}:log-group:{group}:log-stream:{stream}"


def described(call: Call, group: str, stream: LogStream) -> dict[str, Any]:
    shown: dict[str, Any] = {"logStreamName": stream.name, "creationTime": stream.created}
    if stream.first_event is not None:
        shown["firstEventTimestamp"] = stream.first_event
    if stream.last_event is not None:
        shown["lastEventTimestamp"] = stream.last_event
    if stream.last_ingestion is not None:
        shown["lastIngestionTime"] = stream.last_ingestion
    if stream.last_seq is not None:
        shown["uploadSequenceToken"] = sequence_token(stream.last_seq)
    shown["arn"] = stream_arn(call, group, stream.name)
    shown["storedBytes"] = stream.stored_bytes
    return shown


def sequence_token(seq: int) -> str:
    """An uploadSequenceToken / nextSequenceToken (AWS's are 56 digits; PutLogEvents ignores them)."""
    return f"{seq:056d}"


def describe_log_streams(call: Call, p: params.Params) -> dict[str, Any]:
    group = identified_group(call, p)
    prefix = optional_prefix(p, "logStreamNamePrefix", STREAM_NAME)
    order = params.string(p, "orderBy") or "LogStreamName"
    if order not in ORDERS:
        raise invalid(order, "orderBy", f"satisfy enum value set: [{', '.join(ORDERS)}]")
    by_last_event = order == "LastEventTime"
    if by_last_event and prefix is not None:
        raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    descending = bool(params.boolean(p, "descending"))
    count = limit(p, "limit", 50, 50)
    scope = pages.scope("DescribeLogStreams", call, [group, prefix, order, descending])
    after = pages.position(call, p, scope)
    try:
        found = call.store.logs.streams(
            call.account,
            call.region,
            group,
            prefix=prefix,
            by_last_event=by_last_event,
            descending=descending,
            after=None if after is None else (int(after[0]), str(after[1])),
            limit=count + 1,
        )
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    result: dict[str, Any] = {"logStreams": [described(call, group, s) for s in found[:count]]}
    if len(found) > count:
        last = found[count - 1]
        result["nextToken"] = pages.token(call, scope, [last.last_event or 0, last.name])
    return result


OPERATIONS = {
    "CreateLogStream": create_log_stream,
    "DeleteLogStream": delete_log_stream,
    "DescribeLogStreams": describe_log_streams,
}
