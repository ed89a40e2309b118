"""The app factory (``server/app.py``): one app answering every path -- unsigned health and metrics
probes, everything else through the edge, nothing but probes on a worker node -- with the domains wired
together by trail listeners (StartLogging and StopLogging reach delivery without trails importing it)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import Message

from opentrail.context import Services
from opentrail.delivery import state as delivery
from opentrail.organizations import accounts
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX
from opentrail.protocol import JSON_11_CONTENT_TYPE as JSON_11
from opentrail.server.app import build_services, create_app, listen_to_trails
from opentrail.settings import Settings
from opentrail.trails import operations as trails
from tests.support.asgi import answer, from_botocore, starlette_request
from tests.support.calls import Env

ACCOUNT = "111122223333"


def app_in(data_dir: Path, role: str = "all") -> Iterator[Starlette]:
    app = create_app(Settings(data_dir=data_dir, role=role))
    try:
        yield app
    finally:
        app.state.services.store.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Starlette]:
    yield from app_in(tmp_path)


def test_health_and_metrics_are_answered_unsigned(app: Starlette) -> None:
    status, _, body = asyncio.run(answer(app, starlette_request("GET", "/health")))
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    status, headers, body = asyncio.run(answer(app, starlette_request("GET", "/metrics")))
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert b"opentrail_requests" in body


@pytest.mark.parametrize("path", ["/health", "/metrics"])
def test_head_probes_are_answered_like_get_without_a_body(app: Starlette, path: str) -> None:
    """Load balancers probe with HEAD: the GET answer's status and headers, no body."""
    got_status, got_headers, got_body = asyncio.run(answer(app, starlette_request("GET", path)))
    status, headers, body = asyncio.run(answer(app, starlette_request("HEAD", path)))
    assert (status, body) == (got_status, b"")
    assert headers["content-type"] == got_headers["content-type"]
    if path == "/health":  # the metrics text changes between two renderings; the health answer does not
        assert headers["content-length"] == str(len(got_body))


def test_a_client_that_leaves_mid_body_is_counted_as_499_and_not_logged_as_a_failure(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    half: Message = {"type": "http.request", "body": b'{"trailNa', "more_body": True}
    sent = iter([half, {"type": "http.disconnect"}])

    async def receive() -> Message:
        return next(sent)

    # Signed (by the deployment's root), so the edge gets as far as reading the body.
    services = app.state.services
    key = accounts.root_key_of(services.store, services.store.get_meta(accounts.BOOTSTRAP_KEY))
    assert key is not None
    body = b'{"trailNameList": []}'.ljust(100)
    target = {"X-Amz-Target": CLOUDTRAIL_TARGET_PREFIX + "DescribeTrails", "Content-Type": JSON_11}
    signing = AWSRequest("POST", "http://127.0.0.1:8790/", data=body, headers=target)
    SigV4Auth(Credentials(key.access_key_id, key.secret), "cloudtrail", "us-east-1").add_auth(signing)
    request = from_botocore(signing)
    with caplog.at_level(logging.INFO, logger="opentrail"):
        status, _, _ = asyncio.run(answer(app, Request(request.scope, receive)))
    assert status == 499
    assert caplog.records == []
    metrics = asyncio.run(answer(app, starlette_request("GET", "/metrics")))[2].decode()
    assert 'opentrail_requests_total{operation="unknown",status="499"} 1.0' in metrics
    assert 'status="5' not in metrics


def test_a_websocket_is_refused_not_failed(app: Starlette) -> None:
    """Under a server that offers websockets (a deployment's own uvicorn), the upgrade is refused."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {**starlette_request("GET", "/").scope, "type": "websocket"}
    asyncio.run(app(scope, receive, send))
    assert sent == [{"type": "websocket.close", "code": 1008}]


def test_a_signed_request_for_health_is_an_api_request(app: Starlette) -> None:
    """A presigned S3 URL for a bucket named "health" is signed too: it must reach the edge."""
    for request in (
        starlette_request("GET", "/health", headers={"authorization": "AWS4-HMAC-SHA256 nonsense"}),
        starlette_request("GET", "/health", query="X-Amz-Credential=x"),
    ):
        status, _, body = asyncio.run(answer(app, request))
        assert status >= 400
        assert b'"status"' not in body


def test_any_other_path_reaches_the_edge(app: Starlette) -> None:
    status, _, body = asyncio.run(answer(app, starlette_request("POST", "/anything/else")))
    assert (status, json.loads(body)["__type"]) == (403, "MissingAuthenticationTokenException")


def test_the_factory_bootstraps_the_first_account(app: Starlette, tmp_path: Path) -> None:
    services: Services = app.state.services
    assert services.store.get_meta("bootstrap_account") is not None
    assert (tmp_path / "credentials").exists()


def test_a_worker_node_answers_only_probes(tmp_path: Path) -> None:
    for app in app_in(tmp_path, role="worker"):
        status, _, body = asyncio.run(answer(app, starlette_request("POST", "/")))
        error = json.loads(body)
        assert (status, error["__type"]) == (400, "UnsupportedOperationException")
        assert "OPENTRAIL_ROLE=worker" in error["message"]
        assert asyncio.run(answer(app, starlette_request("GET", "/health")))[0] == 200


def test_trail_changes_reach_delivery_through_the_factorys_listeners(tmp_path: Path) -> None:
    services = build_services(Settings(data_dir=tmp_path))
    try:
        listen_to_trails(services)
        env = Env(services, iter(()))
        services.storage.create_bucket("wired-bucket")
        call = env.call(ACCOUNT)
        arn = trails.create_trail(call, {"Name": "wired", "S3BucketName": "wired-bucket"})["TrailARN"]
        assert services.store.get_doc(delivery.KIND, ACCOUNT, arn) is None  # not logging: nothing to deliver
        trails.start_logging(call, {"Name": "wired"})
        started = services.store.get_doc(delivery.KIND, ACCOUNT, arn)
        assert started is not None
        assert delivery.load_state(started).until is None
        trails.stop_logging(call, {"Name": "wired"})
        stopped = services.store.get_doc(delivery.KIND, ACCOUNT, arn)
        assert stopped is not None
        assert (
            delivery.load_state(stopped).until is not None
        )  # delivery finishes what was committed up to now
    finally:
        services.store.close()
