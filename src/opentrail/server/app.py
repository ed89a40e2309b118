"""The app factory: ``create_app(settings)``, the one way the CLI, the tests and deployments build the
service. It opens the store and the bucket storage, wires the domains together (trail listeners), makes
sure the first account exists, and runs the background work beside the edge: delivery, notifications,
the streaming of trails' events to their log groups, metric filters, the evaluation of CloudWatch
alarms, retention, the grouped commit of read calls' audit events, and the expiry of abandoned S3
multipart uploads.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from opentrail.clock import Clock, SystemClock
from opentrail.context import Services
from opentrail.delivery import notifications
from opentrail.delivery import worker as delivery
from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.signing import Signer
from opentrail.delivery.sns import open_sns
from opentrail.errors import UnsupportedOperation
from opentrail.history.throttle import Throttle
from opentrail.ingest.coverage import Coverage
from opentrail.organizations import accounts
from opentrail.server.edge import Edge, error_response
from opentrail.server.metrics import Metrics
from opentrail.server.retention import enforce_retention
from opentrail.settings import Settings
from opentrail.storage import open_storage
from opentrail.storage.encryption import MasterKey
from opentrail.store import Store, open_store
from opentrail.streams.alarms import actions as alarm_actions
from opentrail.streams.alarms import evaluator as alarm_evaluator
from opentrail.streams.delivery import worker as log_group_delivery
from opentrail.streams.metric_filters import worker as metric_filters
from opentrail.streams.metrics.prometheus import MetricFilterCollector, filter_targets
from opentrail.tokens import TokenSealer
from opentrail.trails.listeners import TrailListeners


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
        listeners=TrailListeners(),
        signer=Signer(store, master, clock),
        sns=open_sns(settings),
    )
    return services


def listen_to_trails(services: Services) -> DeliveryHooks:
    """What trail changes do to the rest of the service: delivery states follow logging and the accounts
    an organization trail covers; ingest's cached coverage forgets what changed. The hooks returned are
    the ones this node's delivery worker shares a lock with."""
    store = services.store
    hooks = DeliveryHooks(store)
    listeners = services.listeners
    listeners.changed.append(
        lambda account, organization: services.coverage.forget(None if organization else account)
    )
    listeners.started.append(hooks.logging_started)
    listeners.stopped.append(
        lambda account, trail, deleted: hooks.logging_stopped(account, trail, deleted=deleted)
    )
    listeners.covered.append(lambda trail: services.coverage.forget())
    listeners.covered.append(hooks.cover)
    listeners.status_sources.append(hooks.status)
    listeners.status_sources.append(log_group_delivery.status_source(store))
    return hooks


def _background(services: Services, edge: Edge, hooks: DeliveryHooks) -> list[Coroutine[Any, Any, None]]:
    """The loops this node runs beside the API. OPENTRAIL_ROLE: an "api" node serves calls only;
    "worker" nodes deliver what every node ingests."""
    settings = services.settings
    loops: list[Coroutine[Any, Any, None]] = []
    if settings.runs_workers:
        notifier = notifications.Notifier(
            services.store,
            services.clock,
            # -- alarms: alarm notices' outcomes go to their alarm's history, a trail's to its status
            alarm_actions.route_outcomes(services.store, hooks.record_notification),
            retry_delay=settings.notification_retry_delay,
            new_id=services.new_id,
            sns=services.sns,
            node=settings.node_id,
            max_age=settings.notification_max_age,
        )
        # -- alarms: a SetAlarmState's notices go out at once, as an evaluated transition's do
        services.notices_queued.append(notifier.queued)
        loops += [
            enforce_retention(services),
            notifier.run(),
            delivery.run_worker(services, hooks, notifier.submit),
            log_group_delivery.run_worker(services),
            metric_filters.run_worker(services.store),
            # -- alarms: evaluated beside delivery; their transitions' notices go out through the notifier
            alarm_evaluator.run_evaluator(services, notifier.queued),
        ]
    if settings.serves_api:
        loops += [edge.flush_reads_forever(), edge.s3.uploads.expire_forever(services)]
    return loops


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    """The one factory the CLI, the tests and deployments use."""
    services = build_services(settings, clock)
    hooks = listen_to_trails(services)
    accounts.bootstrap_deployment(services.store, services.clock, settings)
    metrics = Metrics()
    # -- metrics: metric filters' metrics on /metrics, read from the store at each scrape.
    metrics.export(
        MetricFilterCollector(services.store, services.clock, lambda: filter_targets(services.store))
    )
    edge = Edge(services, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        workers = [asyncio.create_task(loop) for loop in _background(services, edge, hooks)]
        try:
            yield
        finally:
            for task in workers:
                task.cancel()
            for task in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.store.close()

    # No routes: every request, whatever its method or path, reaches the edge, which answers in
    # CloudTrail's error shape (routing is by SigV4 service, never by path alone).
    app = Starlette(lifespan=lifespan)
    app.router.default = _entry(services, edge, metrics)
    app.state.services = services
    # The connections `opentrail serve` accepts are counted here too (server/connections.py).
    app.state.metrics = metrics
    return app


def _entry(
    services: Services, edge: Edge, metrics: Metrics
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI entry: unsigned GET and HEAD /health and /metrics, everything else to the edge."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def render_metrics(_: Request) -> Response:
        # In a thread: rendering reads metric filters' metrics from the store.
        return Response(await run_in_threadpool(metrics.render), media_type=metrics.content_type)

    unsigned: dict[str, Callable[[Request], Awaitable[Response]]] = {
        "/health": health,
        "/metrics": render_metrics,
    }
    settings = services.settings

    async def root(request: Request) -> Response:
        handler = unsigned.get(request.scope["path"])
        if handler is not None and request.method in ("GET", "HEAD"):
            # A presigned S3 URL for a bucket named "health" is signed too: it must reach the edge.
            query = request.query_params
            signed = "authorization" in request.headers or "X-Amz-Credential" in query or "Signature" in query
            if not signed:
                response = await handler(request)
                if request.method == "HEAD":
                    # Load balancers probe with HEAD: GET's status and headers (Content-Length too),
                    # no body (RFC 9110, 9.3.2).
                    response.body = b""
                return response
        if not settings.serves_api:
            # A worker node answers /health and /metrics only; a client sent here gets told why.
            err = UnsupportedOperation(
                f"this node runs with OPENTRAIL_ROLE={settings.role}: it serves no API calls; "
                "send them to a node with role api or all"
            )
            return error_response(err, services.new_id())
        return await edge.dispatch(request)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # No API here speaks websockets (`opentrail serve` does not even offer them): refuse the
            # upgrade, which the server answers 403, rather than fail on a scope that is not HTTP.
            await send({"type": "websocket.close", "code": 1008})
            return
        response = await root(Request(scope, receive))
        await response(scope, receive, send)

    return asgi
