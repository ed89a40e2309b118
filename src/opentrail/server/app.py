"""The protocol edge: one port, routed by the SigV4 credential scope's service.

    unsigned GET /health, /metrics              -> service status
    service cloudtrail + X-Amz-Target           -> CloudTrail JSON 1.1 operations (the table below)
    service organizations + X-Amz-Target        -> the AWS Organizations subset (organizations_api)
    service cloudtrail-data, POST /PutAuditEvents -> CloudTrail Lake ingestion (rest-json)
    service cloudtrail-data, POST /IngestRecords  -> native batch ingest of full CloudTrail records

Every request is authenticated before it is routed; every CloudTrail and Organizations operation is
audited as a management event in the caller's account and region. Errors are rendered here and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import msgspec
import prometheus_client
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from opentrail.clock import Clock, SystemClock
from opentrail.context import Call, Services
from opentrail.delivery import notifications
from opentrail.delivery import public_keys as keys
from opentrail.delivery import worker as delivery
from opentrail.delivery.signing import Signer
from opentrail.errors import (
    ApiError,
    ConflictError,
    InternalFailure,
    RequestEntityTooLarge,
    SerializationException,
    ServiceError,
    StoreError,
    UnknownOperationException,
    UnrecognizedClient,
    UnsupportedOperation,
    error_body,
)
from opentrail.history import lookup
from opentrail.history.throttle import Throttle
from opentrail.ingest import audit_events
from opentrail.ingest import native as ingest
from opentrail.ingest.coverage import Coverage
from opentrail.organizations import accounts
from opentrail.organizations import operations as organizations_api
from opentrail.selectors import operations as trail_selectors
from opentrail.server import audit, sigv4
from opentrail.server.s3 import api as s3api
from opentrail.settings import Settings
from opentrail.storage import open_storage
from opentrail.storage.encryption import MasterKey
from opentrail.store import Store, open_store
from opentrail.tokens import TokenSealer
from opentrail.trails import channels, tags
from opentrail.trails import operations as trails

log = logging.getLogger("opentrail")

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON_11 = "application/x-amz-json-1.1"
MAX_API_BODY = 1024 * 1024
# Successful reads' audit events are committed in groups this often (nobody waits on them): each group
# is a commit, an fsync and a history pass; bench.lookup's p50 went 1.4 -> 1.1 ms from 0.1 s to 1 s.
READ_AUDIT_FLUSH_SECONDS = 0.5
Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]

# The CloudTrail operations this server answers, by wire name.
OPERATIONS: dict[str, Operation] = {
    **trails.OPERATIONS,
    **trail_selectors.OPERATIONS,
    **lookup.OPERATIONS,
    **channels.OPERATIONS,
    **tags.OPERATIONS,
    **keys.OPERATIONS,
}


@dataclass(frozen=True)
class JsonService:
    """A JSON 1.1 service on the port: its X-Amz-Target prefix, operations and audit eventSource."""

    name: str
    target_prefix: str
    operations: dict[str, Operation]
    event_source: str
    # A global service's calls are recorded in this region whatever region the client signed for, as
    # CloudTrail records them (Organizations: us-east-1).
    audit_region: str | None = None


# By SigV4 credential-scope service name.
JSON_SERVICES = {
    "cloudtrail": JsonService("CloudTrail", TARGET_PREFIX, OPERATIONS, audit.EVENT_SOURCE),
    "organizations": JsonService(
        "Organizations",
        organizations_api.TARGET_PREFIX,
        organizations_api.OPERATIONS,
        organizations_api.EVENT_SOURCE,
        audit_region="us-east-1",
    ),
}

REGISTRY = prometheus_client.CollectorRegistry()
REQUESTS = prometheus_client.Counter(
    "opentrail_requests", "API calls served", ["operation", "status"], registry=REGISTRY
)
EVENTS = prometheus_client.Counter("opentrail_events_ingested", "Events accepted", registry=REGISTRY)
LATENCY = prometheus_client.Histogram(
    "opentrail_request_seconds", "API call latency", ["operation"], registry=REGISTRY
)


_JSON_11 = JSON_11.encode("latin-1")


class _JsonResponse(Response):
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


def _json(body: Any, status: int = 200, request_id: str = "") -> Response:
    return _JsonResponse(msgspec.json.encode(body), status, request_id)


_counted: dict[tuple[str, int], prometheus_client.Counter] = {}
_timed: dict[str, prometheus_client.Histogram] = {}


def observe(operation: str, status: int, seconds: float) -> None:
    """Count and time one call; the labelled children are looked up once per label set."""
    counter = _counted.get((operation, status))
    if counter is None:
        counter = _counted.setdefault((operation, status), REQUESTS.labels(operation, str(status)))
    histogram = _timed.get(operation)
    if histogram is None:
        histogram = _timed.setdefault(operation, LATENCY.labels(operation))
    counter.inc()
    histogram.observe(seconds)


def error_response(err: ApiError, request_id: str, rest: bool = False) -> Response:
    if rest:
        # rest-json (cloudtrail-data): botocore reads the code from x-amzn-ErrorType first.
        return Response(
            msgspec.json.encode({"message": err.message}),
            status_code=err.status,
            media_type="application/json",
            headers={"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code},
        )
    return _json(error_body(err), err.status, request_id)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestEntityTooLarge(f"request body is {declared} bytes; the limit is {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Edge:
    """Authenticates, routes and renders; owns nothing but the services it was given."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._keys: dict[str, Any] = {}
        # Audit rows of successful read calls, committed together by ``flush_reads`` instead of one
        # fsync'd commit per call (reads are not acknowledged as durable; changes and failures are).
        self._reads: list[Any] = []

    async def authenticate(self, request: Request, body: bytes) -> tuple[sigv4.Credential, Any]:
        signed = sigv4.Request(
            method=request.method,
            raw_path=request.scope.get("raw_path", b"/").decode("latin-1") or request.url.path,
            query_string=request.scope.get("query_string", b"").decode("latin-1"),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.scope["headers"]},
            body=body,
        )
        credential, verifier = sigv4.read_credential(signed, self.services.clock.now())
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
        verifier(signed, credential, key.secret)
        return credential, key

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
        request_id = str(uuid.uuid4())
        rest = request.scope["path"] in ("/PutAuditEvents", "/IngestRecords")

        def render(err: ApiError) -> Response:
            # S3 clients parse S3's XML errors only, authentication failures included.
            if s3api.is_s3(request):
                return s3api.error_response(err, request_id, request.method == "HEAD")
            return error_response(err, request_id, rest)

        started = time.perf_counter()
        operation = "unknown"
        try:
            body = await read_body(request, self.services.settings.max_body_bytes)
            credential, key = await self.authenticate(request, body)
            call = self.call_for(request, credential, key, request_id)
            service = JSON_SERVICES.get(credential.service)
            if service is not None:
                rest = False
                operation = self.operation_name(request, service)
                response = await self.json_api(call, operation, request, body, service)
            elif credential.service == "cloudtrail-data" and request.method == "POST" and rest:
                operation = request.url.path.lstrip("/")
                response = await self.data_plane(call, operation, request, body)
            elif credential.service == "s3" and s3api.is_s3(request):
                operation = "s3"
                response = await s3api.handle(call, request, body)
            else:
                raise UnknownOperationException(
                    f"no operation for service {credential.service!r} at {request.method} {request.url.path}"
                )
        except ApiError as err:
            response = render(err)
        except StoreError as err:
            log.error("store failure: %s", err)
            response = render(ServiceError(f"the event store is unavailable, retry: {err}"))
        except Exception:
            # The edge is the one place a bug is caught: the client gets CloudTrail's error shape, the
            # operator gets the traceback in the server log.
            log.exception("unexpected failure in %s (request %s)", operation, request_id)
            response = render(InternalFailure("internal error; see the server log"))
        observe(operation, response.status_code, time.perf_counter() - started)
        return response

    @staticmethod
    def operation_name(request: Request, service: JsonService) -> str:
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
        params: dict[str, Any] | None = None
        result: dict[str, Any] | None = None
        error: ApiError | None = None
        try:
            if len(body) > MAX_API_BODY:
                raise RequestEntityTooLarge(f"request body is {len(body)} bytes; the limit is {MAX_API_BODY}")
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type not in (JSON_11, "application/x-amz-json-1.0", "application/json"):
                raise SerializationException(
                    f"Content-Type must be {JSON_11}, got {content_type or 'nothing'!r}"
                )
            params = self.decode_params(body)
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
        audited = (
            call if service.audit_region is None else dataclasses.replace(call, region=service.audit_region)
        )
        await self.record(audited, operation, params, result, error, service.event_source)
        if error is not None:
            return error_response(error, call.request_id)
        return _json(result or {}, 200, call.request_id)

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

    async def record(
        self,
        call: Call,
        operation: str,
        params: dict[str, Any] | None,
        result: dict[str, Any] | None,
        error: ApiError | None,
        source: str = audit.EVENT_SOURCE,
    ) -> None:
        """Audit the call. Changes wait for the audit event to be durable; reads do not."""
        row = audit.audit_row(call, operation, params, result, error, source)
        if audit.is_read_only(operation) and error is None:
            self._reads.append(row)
            return
        await asyncio.wrap_future(self.services.store.submit([row]))

    def flush_reads(self) -> None:
        if self._reads:
            rows, self._reads = self._reads, []
            self.services.store.submit(rows).add_done_callback(_report_lost_reads)

    async def flush_reads_forever(self, interval: float = READ_AUDIT_FLUSH_SECONDS) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                self.flush_reads()
        finally:
            self.flush_reads()

    async def data_plane(self, call: Call, operation: str, request: Request, body: bytes) -> Response:
        if operation == "PutAuditEvents":
            result = await audit_events.put_audit_events(call, dict(request.query_params), body)
        else:
            result = await ingest.ingest_records(call, dict(request.query_params), body)
        EVENTS.inc(result.pop("_accepted", 0))
        return Response(
            msgspec.json.encode(result),
            media_type="application/json",
            headers={"x-amzn-RequestId": call.request_id},
        )


def _report_lost_reads(done: Future[None]) -> None:
    """Nobody waits on reads' audit events, so a failed commit of them is said here or nowhere."""
    if not done.cancelled() and (exc := done.exception()) is not None:
        log.error("audit events of read calls could not be stored: %s", exc)


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def metrics(_: Request) -> Response:
    return Response(
        prometheus_client.generate_latest(REGISTRY), media_type=prometheus_client.CONTENT_TYPE_LATEST
    )


RETENTION_CHECK_SECONDS = 3600.0


async def enforce_retention(services: Services) -> None:
    """Drop event history older than OPENTRAIL_RETENTION_DAYS (by ingestion day), once an hour."""
    while True:
        cutoff = services.clock.now() - services.settings.retention_days * 86400
        try:
            removed = await run_in_threadpool(services.store.purge_ingested_before, cutoff)
        except StoreError as err:
            log.warning("retention pass failed, will retry: %s", err)
        else:
            if removed:
                log.info("retention removed %d events ingested before %s", removed, cutoff)
        await asyncio.sleep(RETENTION_CHECK_SECONDS)


def build_services(settings: Settings, clock: Clock | None = None, store: Store | None = None) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = clock or SystemClock()
    store = store or open_store(settings.database, clock)
    secret = store.set_meta_default("token_secret", secrets.token_hex(32))
    # One master key seals signing keys and the local bucket store's SSE-KMS objects.
    master = MasterKey.load_or_create(settings.data_dir)
    services = Services(
        settings=settings,
        store=store,
        storage=open_storage(settings.storage, master),
        clock=clock,
        sealer=TokenSealer(bytes.fromhex(secret)),
        coverage=Coverage(store),
        throttle=Throttle(settings.lookup_rate),
        signer=Signer(store, master, clock),
    )
    listen_to_trails(services)
    return services


def listen_to_trails(services: Services) -> None:
    """What trail changes do to the rest of the service: delivery states follow logging and the accounts
    an organization trail covers; ingest's cached coverage forgets what changed."""
    store = services.store
    listeners = services.listeners
    listeners.changed.append(
        lambda account, organization: services.coverage.forget(None if organization else account)
    )
    listeners.started.append(lambda account, trail: delivery.logging_started(store, account, trail))
    listeners.stopped.append(
        lambda account, trail, deleted: delivery.logging_stopped(store, account, trail, deleted=deleted)
    )
    listeners.covered.append(lambda trail: services.coverage.forget())
    listeners.covered.append(lambda trail: delivery.cover(store, trail))
    listeners.status_sources.append(lambda account, arn: delivery.status(store, account, arn))


def bootstrap(services: Services) -> tuple[str, bool]:
    """Make sure the first account exists; write its credentials file when they are new."""
    settings = services.settings
    account, created = accounts.bootstrap(
        services.store,
        services.clock,
        settings.account_id,
        settings.root_access_key_id,
        settings.root_secret_access_key,
    )
    if created is not None and not settings.root_access_key_id:
        accounts.write_credentials(settings.credentials_file, created)
    return account.account_id, created is not None


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    """The one factory the CLI, the tests and deployments use."""
    services = build_services(settings, clock)
    bootstrap(services)
    edge = Edge(services)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        notifier = notifications.Notifier(
            services.store,
            services.clock,
            delivery.record_notification(services.store),
            retry_delay=services.settings.notification_retry_delay,
        )
        workers = []
        # OPENTRAIL_ROLE: an "api" node serves calls only; "worker" nodes deliver what every node ingests.
        if settings.runs_workers:
            workers += [
                asyncio.create_task(enforce_retention(services)),
                asyncio.create_task(notifier.run()),
                asyncio.create_task(delivery.run(services, notifier.submit)),
            ]
        if settings.serves_api:
            workers.append(asyncio.create_task(edge.flush_reads_forever()))
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.store.close()

    async def entry(request: Request) -> Response:
        return await edge.dispatch(request)

    unsigned: dict[str, Callable[[Request], Awaitable[Response]]] = {"/health": health, "/metrics": metrics}

    async def root(request: Request) -> Response:
        handler = unsigned.get(request.scope["path"])
        if handler is not None and request.method == "GET":
            # A presigned S3 URL for a bucket named "health" is signed too: it must reach the edge.
            query = request.query_params
            signed = "authorization" in request.headers or "X-Amz-Credential" in query or "Signature" in query
            if not signed:
                return await handler(request)
        if not settings.serves_api:
            # A worker node answers /health and /metrics only; a client sent here gets told why.
            err = UnsupportedOperation(
                f"this node runs with OPENTRAIL_ROLE={settings.role}: it serves no API calls; "
                "send them to a node with role api or all"
            )
            return error_response(err, str(uuid.uuid4()))
        return await entry(request)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        response = await root(Request(scope, receive))
        await response(scope, receive, send)

    # No routes: every request, whatever its method or path, reaches the edge, which answers in
    # CloudTrail's error shape (routing is by SigV4 service, never by path alone).
    app = Starlette(lifespan=lifespan)
    app.router.default = asgi
    app.state.services = services
    return app
