"""PutAuditEvents (cloudtrail-data): a producer's events into one of its CloudTrail Lake channels.

The channel is the caller's own (a channel of another account is refused whether or not it exists,
so nothing is revealed); ``lake`` checks and converts the payload; every attempt, good or bad, is
recorded in the channel's ``IngestionStatus``, which GetChannel shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from starlette.concurrency import run_in_threadpool

from opentrail.clock import format_time
from opentrail.context import Call
from opentrail.errors import (
    ApiError,
    ChannelInsufficientPermission,
    DataChannelNotFound,
    InvalidChannelARN,
    ValidationException,
)
from opentrail.ingest import lake
from opentrail.store import Doc, Store
from opentrail.trails import channels

# fullmatch: `$` would let a trailing newline through; ASCII: \w means what AWS means.
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)


def _data_channel(call: Call, query: dict[str, str]) -> Doc:
    """The caller's channel the call names (``channelArn``, an ARN or an id)."""
    value = query.get("channelArn")
    if not value:
        raise ValidationException("channelArn is required: the ARN or id of the channel to put events into")
    ref = channels.parse_ref(value, call, InvalidChannelARN)
    if ref.account != call.account:
        # CloudTrail answers this whether or not such a channel exists, so nothing is revealed.
        raise ChannelInsufficientPermission(
            f"account {call.account} cannot put events into a channel of account {ref.account}; "
            "only the channel's owner can"
        )
    doc = None if ref.foreign else call.store.get_doc(channels.KIND, call.account, ref.arn)
    if doc is None:
        raise channels.channel_not_found(value, call, DataChannelNotFound)
    external_id = query.get("externalId")
    if external_id is not None and not _EXTERNAL_ID.fullmatch(external_id):
        raise ValidationException(
            "externalId must be 2-1224 characters of letters, digits, '_' and +=,.@:/-, "
            f"got {len(external_id)} characters"
        )
    return doc


def note_ingestion(
    store: Store,
    doc: Doc,
    now: float,
    attempt_id: str | None,
    success_id: str | None,
    error_code: str | None,
) -> None:
    """Record a PutAuditEvents attempt in the channel's IngestionStatus (what GetChannel shows)."""
    when = round(now, 3)

    def change(current: Doc) -> Doc:
        status = dict(current.body.get("IngestionStatus") or {})
        status["LatestIngestionAttemptTime"] = when
        if attempt_id is None:
            status.pop("LatestIngestionAttemptEventID", None)
        else:
            status["LatestIngestionAttemptEventID"] = attempt_id
        if success_id is not None:
            status["LatestIngestionSuccessTime"] = when
            status["LatestIngestionSuccessEventID"] = success_id
        if error_code is not None:
            status["LatestIngestionErrorCode"] = error_code
        body = {**current.body, "IngestionStatus": status}
        return Doc(current.kind, current.account, current.region, current.name, current.arn, body)

    # A channel deleted while the call ran has no status to update; its accepted events are stored.
    with contextlib.suppress(KeyError):
        store.update_doc(channels.KIND, doc.account, doc.arn, change)


async def put_audit_events(call: Call, query: dict[str, str], body: bytes) -> dict[str, Any]:
    """PutAuditEvents: each entry checked and converted on its own (``lake``), the good ones stored
    before the call returns, and the attempt recorded in the channel's IngestionStatus."""
    doc = await run_in_threadpool(_data_channel, call, query)
    try:
        entries = lake.parse_request(body)
    except ApiError as err:
        await run_in_threadpool(note_ingestion, call.store, doc, call.now, None, None, err.code)
        raise
    target = lake.Target(doc.arn, call.account, call.region, format_time(call.now))
    services = call.services
    if len(body) > 128 * 1024:
        # Large bodies are parsed off the event loop so other calls keep flowing.
        conversion = await run_in_threadpool(
            lake.convert_all, entries, target, services.new_id, services.event_times
        )
    else:
        conversion = lake.convert_all(entries, target, services.new_id, services.event_times)
    if conversion.rows:
        await asyncio.wrap_future(call.store.submit(conversion.rows))
    await run_in_threadpool(
        note_ingestion,
        call.store,
        doc,
        call.now,
        conversion.last_event_id,
        conversion.last_success_id,
        conversion.last_error,
    )
    return {
        "successful": conversion.successful,
        "failed": conversion.failed,
        "_accepted": len(conversion.rows),
    }
