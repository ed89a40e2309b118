"""The protocol edge: one port, routed by the SigV4 credential scope's service.

    service cloudtrail + X-Amz-Target           -> CloudTrail JSON 1.1 operations (``operations``)
    service organizations + X-Amz-Target        -> the AWS Organizations subset
    service cloudtrail-data, POST /PutAuditEvents -> CloudTrail Lake ingestion (rest-json)
    service cloudtrail-data, POST /IngestRecords  -> native batch ingest of full CloudTrail records
    service s3                                  -> the path-style S3 subset (``server/s3``)
    service monitoring                          -> CloudWatch: query, JSON 1.0 and rpc-v2-cbor
                                                   (``streams/monitoring``)

Every request is authenticated before it is routed; every CloudTrail and Organizations operation is
audited as a management event in the caller's account and region. Errors are rendered here and only here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from concurrent.futures import Future
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from opentrail.context import Call, Services
from opentrail.errors import (
    ApiError,
    ConflictError,
    InternalFailure,
    SerializationException,
    ServiceError,
    StoreError,
    UnknownOperationException,
    UnrecognizedClient,
    error_body,
)
from opentrail.events import EventRow, encode
from opentrail.ingest import audit_events
from opentrail.ingest import native as ingest
from opentrail.ingest.records import index_record
from opentrail.protocol import JSON_11_CONTENT_TYPE as JSON_11
from opentrail.server import audit, sigv4
from opentrail.server.bodies.budget import Budget
from opentrail.server.bodies.reader import Bodies, Plan, declared_length, leaves_costly_body
from opentrail.server.metrics import CLIENT_CLOSED_REQUEST, Metrics
from opentrail.server.operations import JSON_SERVICES, JsonService
from opentrail.server.payload import Payload
from opentrail.server.s3 import audit as s3_audit
from opentrail.server.s3.chunked import decoder_for
from opentrail.server.s3.responses import xml_error
from opentrail.server.s3.router import S3Api, is_s3
from opentrail.server.s3.target import target_of
from opentrail.server.sigv4.chunks import ChunkChain
from opentrail.streams.monitoring import service as monitoring

log = logging.getLogger("opentrail")

# Successful reads' audit events are committed in groups this often (nobody waits on them): each group
# is a commit, an fsync and a history pass; bench.lookup's p50 went 1.4 -> 1.1 ms from 0.1 s to 1 s.
READ_AUDIT_FLUSH_SECONDS = 0.5


# How long a change's audit record is retried when the store fails to take it (the change itself was
# committed a moment before, so the store is most likely back within these seconds).
AUDIT_RETRY_WAITS = (0.1, 0.3, 1.0, 2.0)

_JSON_11 = JSON_11.encode("latin-1")


class JsonResponse(Response):
    """The headers Starlette's constructor makes for ``Response(body, status, media_type=JSON_11,
    headers={"x-amzn-RequestId": ...})``, in its order, listed directly (every API call builds one)."""

    media_type = JSON_11

    def __init__(self, body: bytes, status: int, request_id: str) -> None:
        self.status_code = status
        self.background = None
        self.body = body
        headers = [(b"x-amzn-requestid", request_id.encode("latin-1"))]
        if not (status < 200 or status in (204, 304)):
            headers.append((b"content-length", str(len(body)).encode("latin-1")))
        headers.append((b"content-type", _JSON_11))
        self.raw_headers = headers


def json_response(body: Any, status: int = 200, request_id: str = "") -> Response:
    return JsonResponse(msgspec.json.encode(body), status, request_id)


def error_response(err: ApiError, request_id: str, rest: bool = False) -> Response:
    if rest:
        # rest-json (cloudtrail-data): botocore reads the code from x-amzn-ErrorType first.
        return Response(
            msgspec.json.encode({"message": err.message}),
            status_code=err.status,
            media_type="application/json",
            headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code},
        )
    return json_response(error_body(err), err.status, request_id)


class Edge:
    """Authenticates, routes and renders; owns nothing but the services it was given."""

    def __init__(self, services: Services, metrics: Metrics) -> None:
        self.services = services
        self.metrics = metrics
        self.s3 = S3Api()
        settings = services.settings
        self.bodies = Bodies(
            settings.data_dir / "tmp" / "bodies",
            Budget(settings.max_inflight_body_bytes),
            settings.spool_threshold_bytes,
        )
        self._keys: dict[str, Any] = {}
        # Audit rows of successful read calls, committed together by ``flush_reads`` instead of one
        # fsync'd commit per call (reads are not acknowledged as durable; changes and failures are).
        self._reads: list[Any] = []

    async def authenticate(self, request: Request) -> tuple[sigv4.Credential, Any, Payload]:
        """The credential, its key and the body. Everything the headers can tell is checked before a
        byte of the body is read: the declared length, the signature's form, scope and date, the key,
        and the signature itself when the headers name the payload hash it covers."""
        declared_length(request, self.services.settings.max_body_bytes)
        signed = sigv4.Request(
            method=request.method,
            raw_path=request.scope.get("raw_path", b"/").decode("latin-1") or request.url.path,
            query_string=request.scope.get("query_string", b"").decode("latin-1"),
            headers=sigv4.joined_headers(request.scope["headers"]),
        )
        credential, verifier = sigv4.read_credential(signed, self.services.clock.now())
        # Once the signature holds: what it must cover (X-Amz-Target, S3's x-amz-* headers).
        json_api = credential.service in JSON_SERVICES
        key = self.key_of(credential)
        claim = sigv4.payload_claim(signed, credential)
        if claim is not None:
            verifier(signed, credential, key.secret, claim)
            sigv4.check_covered_headers(signed, credential, json_api)
        payload, digest = await self.bodies.read(
            request, self.body_plan(signed, credential, key.secret, claim), credential.service == "s3"
        )
        try:
            if claim is None:
                verifier(signed, credential, key.secret, digest)
                sigv4.check_covered_headers(signed, credential, json_api)
            elif digest is not None:
                sigv4.check_payload(claim, digest)
        except BaseException:
            payload.close()
            raise
        return credential, key, payload

    def key_of(self, credential: sigv4.Credential) -> Any:
        key = self._keys.get(credential.access_key_id)
        if key is None:
            key = self.services.store.get_access_key(credential.access_key_id)
            if key is not None:
                # Keys never change once created: cache them so auth costs no store read per call.
                self._keys[credential.access_key_id] = key
        if key is None:
            raise UnrecognizedClient(
                f"The security token included in the request is invalid: unknown access key "
                f"{credential.access_key_id}"
            )
        return key

    def body_plan(
        self, signed: sigv4.Request, credential: sigv4.Credential, secret: str, claim: str | None
    ) -> Plan:
        """How the body is read: JSON API calls within their own limit; S3 bodies may be spooled and
        decoded from aws-chunked, their chunk signatures chained to the request's."""
        service = JSON_SERVICES.get(credential.service)
        if service is not None:
            return Plan(service.max_body)
        limit = self.services.settings.max_body_bytes
        if credential.service != "s3":
            return Plan(limit)
        chain = None
        if claim in (sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER):
            chain = ChunkChain(credential, secret)
        decoder = decoder_for(signed.headers, claim or "", chain)
        return Plan(limit, spool=True, hash_raw=claim not in sigv4.S3_PAYLOAD_CLAIMS, decoder=decoder)

    def call_for(self, request: Request, credential: sigv4.Credential, key: Any, request_id: str) -> Call:
        client = request.client
        return Call(
            services=self.services,
            key=key,
            region=credential.region,
            request_id=request_id,
            source_ip=client.host if client else "127.0.0.1",
            user_agent=request.headers.get("user-agent", ""),
        )

    async def dispatch(self, request: Request) -> Response:
        request_id = self.services.new_id()
        rest = request.scope["path"] in ("/PutAuditEvents", "/IngestRecords")

        def render(err: ApiError) -> Response:
            # S3 clients parse S3's XML errors only, authentication failures included.
            if is_s3(request):
                return xml_error(err, request_id, request.method == "HEAD")
            if monitoring.speaks(request):
                return monitoring.error_response(request, err, request_id)
            return error_response(err, request_id, rest)

        started = time.perf_counter()
        operation = "unknown"
        payload = Payload()
        try:
            credential, key, payload = await self.authenticate(request)
            call = self.call_for(request, credential, key, request_id)
            service = JSON_SERVICES.get(credential.service)
            if service is not None:
                rest = False
                operation = self.operation_name(request, service)
                response = await self.json_api(call, operation, request, payload.read(), service)
            elif credential.service == "cloudtrail-data" and request.method == "POST" and rest:
                operation = request.url.path.lstrip("/")
                response = await self.data_plane(call, operation, request, payload.read())
            elif credential.service == "monitoring":
                operation, response = await monitoring.serve(call, request, payload.read(), self.store_row)
            elif credential.service == "s3" and is_s3(request):
                operation = "s3"
                response, failure = await self.s3.answer(call, request, payload)
                # Every S3 answer names its request, as S3's do (botocore's ResponseMetadata.RequestId).
                response.headers.setdefault("x-amz-request-id", call.request_id)
                await self.record_s3(call, request, payload.size, response, failure)
            else:
                raise UnknownOperationException(
                    f"no operation for service {credential.service!r} at {request.method} {request.url.path}"
                )
        except ApiError as err:
            response = render(err)
        except ClientDisconnect:
            # The client left before its request was complete (or stalled past the body timeout): its
            # doing, not a server error. Nobody reads this answer; the status is for /metrics.
            log.debug("client closed the connection mid-request (%s, request %s)", operation, request_id)
            response = Response(status_code=CLIENT_CLOSED_REQUEST)
        except StoreError as err:
            log.error("store failure: %s", err)
            response = render(ServiceError(f"the event store is unavailable, retry: {err}"))
        except Exception:
            # The edge is the one place a bug is caught: the client gets CloudTrail's error shape, the
            # operator gets the traceback in the server log.
            log.exception("unexpected failure in %s (request %s)", operation, request_id)
            response = render(InternalFailure("internal error; see the server log"))
        finally:
            payload.close()
        if leaves_costly_body(request):
            # Answered before its body was read (refused from the headers): close rather than drain it.
            response.headers["connection"] = "close"
        self.metrics.observe(operation, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def operation_name(request: Request, service: JsonService) -> str:
        if request.method != "POST":
            # A GET that changes a trail is one a cache, a prefetcher or a retrying proxy may resend.
            raise UnknownOperationException(
                f"{service.name} operations are called with POST, got {request.method[:20]}"
            )
        target = request.headers.get("x-amz-target", "")
        prefix = service.target_prefix
        name = target[len(prefix) :] if target.startswith(prefix) else ""
        if name not in service.operations:
            raise UnknownOperationException(
                f"X-Amz-Target {target!r} names no {service.name} operation this server supports"
            )
        return name

    async def json_api(
        self, call: Call, operation: str, request: Request, body: bytes, service: JsonService
    ) -> Response:
        result: dict[str, Any] | None = None
        error: ApiError | None = None
        source = service.event_source
        audited = (
            call if service.audit_region is None else dataclasses.replace(call, region=service.audit_region)
        )
        entry = audit.Entry.unrecordable(audited, operation, source)
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type not in (JSON_11, "application/x-amz-json-1.0", "application/json"):
                raise SerializationException(
                    f"Content-Type must be {JSON_11}, got {content_type or 'nothing'!r}"
                )
            params = self.decode_params(body)
            # Before anything changes: a call whose record could not be written is refused here.
            entry = audit.Entry.prepare(audited, operation, params, source)
            call.record_success = lambda: self.record_at_once(audited, call, entry)
            handler = service.operations[operation]
            if audit.is_read_only(operation):
                # Reads are a few index probes: cheaper inline than a thread-pool hop.
                result = handler(call, params)
            else:
                result = await run_in_threadpool(handler, call, params)
        except ApiError as err:
            error = err
        except ConflictError as err:
            error = ServiceError(f"a concurrent change conflicted, retry: {err}")
        if not call.audited:
            audited.resources = call.resources
            await self.store_row(entry.row(result, error), audit.is_read_only(operation), error)
        if error is not None:
            return error_response(error, call.request_id)
        return json_response(result or {}, 200, call.request_id)

    def record_at_once(self, audited: Call, call: Call, entry: audit.Entry) -> None:
        """From an operation's thread: its success recorded durably now, before what it does next
        (StopLogging and DeleteTrail, so the trail they stop still delivers their record)."""
        audited.resources = call.resources
        row = entry.row({}, None)
        for wait in AUDIT_RETRY_WAITS:
            try:
                self.services.store.submit([row]).result()
                return
            except StoreError:
                log.warning("audit record of %s not stored yet; retrying", call.request_id)
                time.sleep(wait)
        self.services.store.submit([row]).result()

    @staticmethod
    def decode_params(body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            params = msgspec.json.decode(body)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise SerializationException(f"request body is not valid JSON in UTF-8: {exc}") from None
        except RecursionError:
            raise SerializationException("request body is nested too deeply for a request") from None
        if not isinstance(params, dict):
            raise SerializationException(f"request body must be a JSON object, got {type(params).__name__}")
        return params

    async def store_row(self, row: EventRow, read_only: bool, error: ApiError | None) -> None:
        """Store the call's audit row. Changes and failures wait for it to be durable; reads do not."""
        if read_only and error is None:
            self._reads.append(row)
            return
        # A change is made: its record is retried for a while before the store's failure is answered.
        for wait in AUDIT_RETRY_WAITS:
            try:
                await asyncio.wrap_future(self.services.store.submit([row]))
                return
            except StoreError:
                log.warning("audit record of %s not stored yet; retrying", row.event_name)
                await asyncio.sleep(wait)
        await asyncio.wrap_future(self.services.store.submit([row]))

    async def record_s3(
        self, call: Call, request: Request, bytes_in: int, response: Response, failure: ApiError | None
    ) -> None:
        """Audit an S3 call as CloudTrail does: bucket-level calls always (management events), object
        calls and listings only where a logging trail selects them (data events)."""
        target = target_of(request)
        operation = s3_audit.operation_of(
            request.method, target.bucket, target.key, target.query, "x-amz-copy-source" in request.headers
        )
        store = self.services.store
        owner = await run_in_threadpool(store.bucket_owner, target.bucket) if target.bucket else None
        call_facts = s3_audit.S3Call(
            operation,
            target.bucket,
            target.key,
            request.headers.get("host", ""),
            dict(target.query),
            owner,
            bytes_in,
            int(response.headers.get("content-length") or 0),
            failure,
        )
        row = index_record(encode(s3_audit.record(call, call_facts)), call.account, self.services.event_times)
        if not operation.management and not self.services.coverage.drop_unselected([row]):
            return  # a data event no logging trail selects, as CloudTrail keeps none
        await self.store_row(row, operation.read_only, failure)

    async def record_channel_call(self, call: Call, query: dict[str, str], error: ApiError | None) -> None:
        """PutAuditEvents's own record: a data event on its channel, kept where a trail selects it."""
        row = audit.channel_event(call, query.get("channelArn", ""), query, error)
        if self.services.coverage.drop_unselected([row]):
            await self.store_row(row, False, error)

    def flush_reads(self) -> None:
        if self._reads:
            rows, self._reads = self._reads, []
            self.services.store.submit(rows).add_done_callback(report_lost_reads)

    async def flush_reads_forever(self, interval: float = READ_AUDIT_FLUSH_SECONDS) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                self.flush_reads()
        finally:
            self.flush_reads()

    async def data_plane(self, call: Call, operation: str, request: Request, body: bytes) -> Response:
        query = dict(request.query_params)
        if operation == "PutAuditEvents":
            try:
                result = await audit_events.put_audit_events(call, query, body)
            except ApiError as err:
                await self.record_channel_call(call, query, err)
                raise
            await self.record_channel_call(call, query, None)
        else:
            # OpenTrail's own bulk path (no CloudTrail call to mirror): its records are the events.
            result = await ingest.ingest_records(call, query, body)
        self.metrics.events_accepted(result.pop("_accepted", 0))
        return Response(
            msgspec.json.encode(result),
            media_type="application/json",
            headers={"x-amzn-RequestId": call.request_id},
        )


def report_lost_reads(done: Future[None]) -> None:
    """Nobody waits on reads' audit events, so a failed commit of them is said here or nowhere."""
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("audit events of read calls could not be stored: %s", exc)
