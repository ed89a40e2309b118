"""Reading a request's body, once its headers have passed: within the wire limit, within the budget of
bytes held in memory across every request in flight, into memory or (large S3 bodies) a spool file.

A body kept in memory reserves its declared length before its first byte is read (or each piece as it
arrives, when no length is declared) and holds it until the edge closes the ``Payload``. A spooled body
reserves only the pieces waiting for their worker thread to hash and write them. A request that cannot
get room is answered 503 (S3's SlowDown) at once: the client retries, the server's memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from opentrail.errors import ApiError, RequestEntityTooLarge, S3Error, ServiceError
from opentrail.server.bodies.budget import Budget
from opentrail.server.bodies.spool import Decoder, Sink, prepare
from opentrail.server.payload import Payload

# A spooled body goes to its worker thread in pieces of about this size.
WRITE_BYTES = 256 * 1024
# An answer sent before the body is read leaves it to the HTTP server to drain; past this many bytes (or
# of unknown length, or awaited behind Expect: 100-continue) the connection is closed instead.
DRAIN_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Plan:
    """How to read one body."""

    limit: int  # bytes on the wire
    spool: bool = False  # may go to a spool file (S3 bodies)
    hash_raw: bool = True  # the signature needs the SHA-256 of the bytes as sent
    decoder: Decoder | None = None  # aws-chunked


def declared_length(request: Request, limit: int) -> int | None:
    """The Content-Length, refused at once when over ``limit``."""
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        return None
    if int(declared) > limit:
        raise RequestEntityTooLarge(f"request body is {declared} bytes; the limit is {limit} bytes")
    return int(declared)


def leaves_costly_body(request: Request) -> bool:
    """Whether answering now leaves a body that would cost draining unread (see ``DRAIN_BYTES``)."""
    if getattr(request.state, "body_read", False):
        return False
    headers = request.headers
    if headers.get("expect", "").lower() == "100-continue":
        return True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return True
    declared = headers.get("content-length", "")
    return declared.isdigit() and int(declared) > DRAIN_BYTES


class Reservation:
    """One request's share of the budget."""

    def __init__(self, budget: Budget, s3: bool) -> None:
        self.budget = budget
        self.s3 = s3
        self.size = 0

    def take(self, size: int) -> None:
        if not self.budget.reserve(size):
            raise busy(self.budget, self.s3)
        self.size += size

    def give_back(self, size: int) -> None:
        size = min(size, self.size)
        self.budget.release(size)
        self.size -= size

    def release(self) -> None:
        self.give_back(self.size)


def busy(budget: Budget, s3: bool) -> ApiError:
    if s3:
        return S3Error("SlowDown", 503, "Please reduce your request rate.")
    return ServiceError(
        f"the server holds its limit of request bodies in flight ({budget.limit} bytes, "
        "OPENTRAIL_MAX_INFLIGHT_BODY_BYTES); retry later"
    )


def too_large(limit: int) -> ApiError:
    return RequestEntityTooLarge(f"request body exceeds the limit of {limit} bytes")


class Bodies:
    """The edge's body reader: one budget shared by every request, one spool folder."""

    def __init__(self, folder: Path, budget: Budget, spool_threshold: int) -> None:
        self.folder = folder
        self.budget = budget
        self.threshold = spool_threshold
        prepare(folder)

    async def read(self, request: Request, plan: Plan, s3: bool) -> tuple[Payload, str | None]:
        """The body (decoded if aws-chunked) and the SHA-256 of its bytes as sent (when ``plan`` asks)."""
        declared = declared_length(request, plan.limit)
        reservation = Reservation(self.budget, s3)
        sink = Sink(plan.hash_raw, plan.decoder)
        # No Content-Length and no chunked transfer: HTTP says there is no body (every GET and HEAD).
        unknown = declared is None and "chunked" in request.headers.get("transfer-encoding", "").lower()
        try:
            if plan.spool and (unknown or (declared is not None and declared > self.threshold)):
                await run_in_threadpool(sink.open, self.folder)
                await self._spool(request, plan, sink, reservation)
                payload = Payload(path=sink.path)
            else:
                await self._hold(request, plan, sink, reservation, declared)
                payload = Payload(b"".join(sink.pieces), release=reservation.release)
        except BaseException:
            reservation.release()
            sink.discard()
            raise
        request.state.body_read = True
        return payload, sink.digest()

    async def _hold(
        self, request: Request, plan: Plan, sink: Sink, reservation: Reservation, declared: int | None
    ) -> None:
        if declared:
            reservation.take(declared)  # all of it before the first byte: refused now, or not at all
        size = 0
        chunks = []
        async for chunk in request.stream():
            size += len(chunk)
            if size > plan.limit:
                raise too_large(plan.limit)
            if size > reservation.size:
                reservation.take(size - reservation.size)
            chunks.append(chunk)
        sink.feed(b"".join(chunks))
        sink.finish()

    async def _spool(self, request: Request, plan: Plan, sink: Sink, reservation: Reservation) -> None:
        size = 0
        pending: list[bytes] = []
        waiting = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > plan.limit:
                raise too_large(plan.limit)
            reservation.take(len(chunk))
            pending.append(chunk)
            waiting += len(chunk)
            if waiting >= WRITE_BYTES:
                await run_in_threadpool(sink.feed, b"".join(pending))
                reservation.give_back(waiting)
                pending, waiting = [], 0
        await run_in_threadpool(sink.feed, b"".join(pending))
        reservation.give_back(waiting)
        await run_in_threadpool(sink.finish)
