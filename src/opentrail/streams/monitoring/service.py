"""One CloudWatch call: read in its protocol, audited as CloudTrail records CloudWatch's calls
(eventSource ``monitoring.amazonaws.com``; reads are Describe*/Get*/List*), run, answered in its
protocol. A call is recorded or refused, as every API call of the server (``server/audit.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import ApiError, ConflictError, ServiceError, UnknownOperationException
from opentrail.events import EventRow
from opentrail.server import audit
from opentrail.streams.monitoring.model import EVENT_SOURCE
from opentrail.streams.monitoring.operations import OPERATIONS
from opentrail.streams.monitoring.protocols import speaks, wire_of

__all__ = ["error_response", "serve", "speaks"]

StoreRow = Callable[[EventRow, bool, ApiError | None], Awaitable[None]]


async def serve(call: Call, request: Request, body: bytes, store_row: StoreRow) -> tuple[str, Response]:
    """(the operation's name, the answer). An unknown operation, or a body the protocol cannot read
    far enough to name one, raises (the edge renders it with ``error_response``)."""
    wire = wire_of(request)
    if request.method not in ("POST", "GET"):
        raise UnknownOperationException(
            f"CloudWatch operations are called with POST, got {request.method[:20]}"
        )
    name, operation, raw = wire.read(request, body)
    handler = OPERATIONS.get(name)
    if handler is None:
        raise UnknownOperationException(f"CloudWatch operation {name} is not supported by this server")
    read_only = audit.is_read_only(name)
    result: dict[str, Any] | None = None
    error: ApiError | None = None
    entry = audit.Entry.unrecordable(call, name, EVENT_SOURCE)
    try:
        params = wire.params(request, operation, raw)
        # Before anything changes: a call whose record could not be written is refused here.
        entry = audit.Entry.prepare(call, name, params, EVENT_SOURCE)
        result = handler(call, params) if read_only else await run_in_threadpool(handler, call, params)
    except ApiError as err:
        error = err
    except ConflictError as err:
        error = ServiceError(f"a concurrent change conflicted, retry: {err}")
    await store_row(entry.row(result, error), read_only, error)
    if error is not None:
        return name, wire.fail(error, call.request_id)
    return name, wire.answer(operation, result or {}, call.request_id)


def error_response(request: Request, err: ApiError, request_id: str) -> Response:
    """``err`` in the protocol ``request`` speaks (authentication failures and unknown operations)."""
    return wire_of(request).fail(err, request_id)
