"""Notifications (``delivery/notifications.py``): CloudTrail's message inside SNS's Notification
envelope, POSTed as SNS posts to an HTTP subscriber -- here to a real HTTP endpoint on loopback --
retried on 5xx with the same MessageId, final on other 4xx, and each outcome reported once
(reference §5.4)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.delivery import topics
from opentrail.delivery.notifications import Notice, Notifier, Outcome, envelope, message
from opentrail.store import Store
from tests.support.services import sqlite_store

ACCOUNT, OTHER = "111122223333", "444455556666"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t1"
NOW = 1_704_067_200.25
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:trail-topic"


def test_the_message_is_cloudtrails() -> None:
    text = message("my-bucket", ("AWSLogs/1/a.json.gz", "AWSLogs/1/b.json.gz"))
    assert text == '{"s3Bucket":"my-bucket","s3ObjectKey":["AWSLogs/1/a.json.gz","AWSLogs/1/b.json.gz"]}'


def test_the_envelope_is_an_sns_notification() -> None:
    topic = topics.Topic(
        name="t", arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:t", url="http://x/", subscription="s", created=0
    )
    notice = Notice(ACCOUNT, TRAIL_ARN, topic.arn, "my-bucket", ("k",))
    assert envelope(topic, notice, "m-1", "2024-01-01T00:00:00.250Z") == {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": topic.arn,
        "Message": '{"s3Bucket":"my-bucket","s3ObjectKey":["k"]}',
        "Timestamp": "2024-01-01T00:00:00.250Z",
    }


@dataclass
class Endpoint:
    """An HTTP subscriber on loopback that answers the statuses it is given, in turn, then 200."""

    statuses: list[int]
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    port: int = 0


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    found = Endpoint([])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            found.received.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
            self.send_response(found.statuses.pop(0) if found.statuses else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def send(store: Store, notice: Notice, attempts: int = 4) -> list[Outcome]:
    """Run a notifier until ``notice``'s outcome is reported; the outcomes reported."""
    outcomes: list[Outcome] = []
    ids = iter(["message-1", "message-2"])
    notifier = Notifier(
        store,
        FixedClock(NOW),
        lambda _notice, outcome: outcomes.append(outcome),
        retry_delay=0.0,
        new_id=lambda: next(ids),
        attempts=attempts,
        timeout=5.0,
    )

    async def main() -> None:
        running = asyncio.create_task(notifier.run())
        await asyncio.sleep(0)  # run() starts accepting notices before its first wait
        notifier.submit(notice)
        for _ in range(2000):
            if outcomes:
                break
            await asyncio.sleep(0.005)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    asyncio.run(main())
    return outcomes


def topic_notice(store: Store, endpoint: Endpoint, owner: str = ACCOUNT) -> Notice:
    topic = topics.create(
        store, owner, "us-east-1", "trail-topic", f"http://127.0.0.1:{endpoint.port}/hook", 0, "sub-1"
    )
    return Notice(ACCOUNT, TRAIL_ARN, topic.arn, "my-bucket", ("AWSLogs/k.json.gz",))


def test_a_notification_is_posted_as_sns_posts_it(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    assert send(store, notice) == [Outcome(at=NOW)]
    ((headers, body),) = endpoint.received
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == "message-1"
    assert headers["x-amz-sns-topic-arn"] == notice.topic_arn
    assert headers["x-amz-sns-subscription-arn"] == f"{notice.topic_arn}:sub-1"
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert headers["user-agent"].startswith("Amazon Simple Notification Service Agent")
    assert body == {
        "Type": "Notification",
        "MessageId": "message-1",
        "TopicArn": notice.topic_arn,
        "Message": '{"s3Bucket":"my-bucket","s3ObjectKey":["AWSLogs/k.json.gz"]}',
        "Timestamp": "2024-01-01T00:00:00.250Z",
    }


def test_a_server_error_is_retried_with_the_same_message_id(store: Store, endpoint: Endpoint) -> None:
    endpoint.statuses = [500, 503, 429]
    assert send(store, topic_notice(store, endpoint)) == [Outcome(at=NOW)]
    assert [headers["x-amz-sns-message-id"] for headers, _ in endpoint.received] == ["message-1"] * 4


def test_attempts_run_out(store: Store, endpoint: Endpoint) -> None:
    endpoint.statuses = [502, 502]
    (outcome,) = send(store, topic_notice(store, endpoint), attempts=2)
    assert outcome.error is not None
    assert outcome.error.endswith("answered HTTP 502 (after 2 attempts)")
    assert len(endpoint.received) == 2


def test_a_client_error_is_final(store: Store, endpoint: Endpoint) -> None:
    endpoint.statuses = [403]
    (outcome,) = send(store, topic_notice(store, endpoint))
    assert not outcome.succeeded
    assert outcome.error == f"EndpointError: the endpoint of {TOPIC_ARN} answered HTTP 403"
    assert len(endpoint.received) == 1


def test_a_missing_or_foreign_topic_is_not_found(store: Store, endpoint: Endpoint) -> None:
    missing = Notice(ACCOUNT, TRAIL_ARN, TOPIC_ARN, "my-bucket", ("k",))
    assert send(store, missing) == [
        Outcome(at=NOW, error=f"NotFound: Topic does not exist: {missing.topic_arn}")
    ]
    foreign = topic_notice(store, endpoint, owner=OTHER)  # another account's topic, as if absent
    (outcome,) = send(store, foreign)
    assert outcome.error is not None
    assert outcome.error.startswith("NotFound")
    assert endpoint.received == []


def test_an_unreachable_endpoint_is_reported(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    topics.delete(store, ACCOUNT, "us-east-1", "trail-topic")
    topics.create(store, ACCOUNT, "us-east-1", "trail-topic", "http://127.0.0.1:9/closed", 0, "sub-1")
    (outcome,) = send(store, notice, attempts=1)
    assert outcome.error is not None
    assert outcome.error.startswith("EndpointUnreachable: cannot reach the endpoint of")


def test_a_notice_for_a_notifier_that_is_not_running_is_dropped(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier(store, FixedClock(NOW), lambda *_: None, retry_delay=0.0, new_id=lambda: "m")
    with caplog.at_level(logging.WARNING, logger="opentrail.notifications"):
        notifier.submit(Notice(ACCOUNT, TRAIL_ARN, TOPIC_ARN, "b", ("k",)))  # never raises, never blocks
    assert f"notification for {TRAIL_ARN} dropped: the notifier is not running" in caplog.text
