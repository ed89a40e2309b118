"""Notifications (``delivery/notifications.py``): CloudTrail's message inside SNS's Notification
envelope, POSTed as SNS posts to an HTTP subscriber -- here to a real HTTP endpoint on loopback -- or
published to a topic on SNS (moto's server on loopback); kept in the store until sent, retried on 5xx
and unreachable topics with the same MessageId, final on other 4xx and missing topics, and every
attempt's outcome reported (reference §5.4)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.delivery import notifications, outbox, topics
from opentrail.delivery.notifications import Notice, Notifier, Outcome, envelope, message
from opentrail.delivery.sns import Sns
from opentrail.store import Store
from tests.support.services import sqlite_store
from tests.support.sns import MotoSns, Subscribed

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


@dataclass
class Harness:
    """A notifier of node ``node-a`` on the test's store; the outcomes it reports, in order."""

    store: Store
    sns: Sns | None = None
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    max_age: float = 3600.0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        ids = (f"message-{n}" for n in range(1, 100))
        self.notifier = Notifier(
            self.store,
            self.clock,
            lambda _notice, outcome: self.outcomes.append(outcome),
            retry_delay=0.0,
            new_id=lambda: next(ids),
            sns=self.sns,
            node="node-a",
            max_age=self.max_age,
            timeout=5.0,
        )

    def run(
        self, until: Callable[[], object], *notices: Notice, during: Callable[[], None] | None = None
    ) -> None:
        """Run the notifier, submit ``notices`` (from a thread, as delivery does), and stop once
        ``until()`` holds (failing after 20 s); ``during`` runs in a thread meanwhile."""

        async def main() -> None:
            running = asyncio.create_task(self.notifier.run())
            await asyncio.sleep(0)
            for notice in notices:
                await asyncio.to_thread(self.notifier.submit, notice)
            helper = asyncio.create_task(asyncio.to_thread(during)) if during else None
            try:
                deadline = time.monotonic() + 20
                while not until():
                    assert time.monotonic() < deadline, "the notifier did not get there in 20 s"
                    self.skip_waits()
                    await asyncio.sleep(0.01)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                if helper is not None:
                    await helper

        asyncio.run(main())

    def skip_waits(self) -> None:
        """When every waiting notice waits for its next attempt's time, move the clock there (a claim
        another node holds is not waited out)."""
        dues = [pending.due for _, _, pending in outbox.waiting(self.store)]
        if dues and min(dues) > self.clock.now():
            self.clock.advance(min(dues) - self.clock.now())

    def send(self, notice: Notice) -> list[Outcome]:
        """Run until ``notice`` is out of the outbox (sent or given up) and its last outcome reported
        (the attempt reports it after leaving the outbox); the outcomes reported."""
        self.run(lambda: self.outcomes and self.outcomes[-1].final and not outbox.waiting(self.store), notice)
        return self.outcomes


def topic_notice(store: Store, endpoint: Endpoint, owner: str = ACCOUNT) -> Notice:
    topic = topics.create(
        store, owner, "us-east-1", "trail-topic", f"http://127.0.0.1:{endpoint.port}/hook", 0, "sub-1"
    )
    return Notice(ACCOUNT, TRAIL_ARN, topic.arn, "my-bucket", ("AWSLogs/k.json.gz",))


# -- webhook topics -------------------------------------------------------------------------------------


def test_a_notification_is_posted_as_sns_posts_it(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    assert Harness(store).send(notice) == [Outcome(at=NOW)]
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
    outcomes = Harness(store).send(topic_notice(store, endpoint))
    # Every failed attempt shows (GetTrailStatus reports it while retrying), then the success.
    assert [o.error for o in outcomes] == [
        f"EndpointError: the endpoint of {TOPIC_ARN} answered HTTP {status} (attempt {n}; retrying in 0.1 s)"
        for n, status in enumerate((500, 503, 429), start=1)
    ] + [None]
    assert [headers["x-amz-sns-message-id"] for headers, _ in endpoint.received] == ["message-1"] * 4


def test_retries_end_at_the_maximum_age(store: Store, endpoint: Endpoint) -> None:
    endpoint.statuses = [502]
    # The next attempt would come after the age: this one is the last.
    (outcome,) = Harness(store, max_age=0.05).send(topic_notice(store, endpoint))
    assert (
        outcome.error
        == f"EndpointError: the endpoint of {TOPIC_ARN} answered HTTP 502 (given up after 1 attempt)"
    )
    assert len(endpoint.received) == 1


def test_a_client_error_is_final(store: Store, endpoint: Endpoint) -> None:
    endpoint.statuses = [403]
    (outcome,) = Harness(store).send(topic_notice(store, endpoint))
    assert not outcome.succeeded
    assert outcome.error == f"EndpointError: the endpoint of {TOPIC_ARN} answered HTTP 403"
    assert len(endpoint.received) == 1


def test_a_missing_or_foreign_topic_is_not_found(store: Store, endpoint: Endpoint) -> None:
    missing = Notice(ACCOUNT, TRAIL_ARN, TOPIC_ARN, "my-bucket", ("k",))
    assert Harness(store).send(missing) == [
        Outcome(at=NOW, error=f"NotFound: Topic does not exist: {missing.topic_arn}")
    ]
    foreign = topic_notice(store, endpoint, owner=OTHER)  # another account's topic, as if absent
    (outcome,) = Harness(store).send(foreign)
    assert outcome.error is not None
    assert outcome.error.startswith("NotFound")
    assert endpoint.received == []


def test_an_unreachable_endpoint_is_retried(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    topics.delete(store, ACCOUNT, "us-east-1", "trail-topic")
    topics.create(store, ACCOUNT, "us-east-1", "trail-topic", "http://127.0.0.1:9/closed", 0, "sub-1")
    harness = Harness(store)
    harness.run(lambda: len(harness.outcomes) >= 2, notice)
    for n, outcome in enumerate(harness.outcomes[:2], start=1):
        assert outcome.error is not None
        assert outcome.error.startswith("EndpointUnreachable: cannot reach the endpoint of")
        assert outcome.error.endswith(f"(attempt {n}; retrying in 0.1 s)")
    # Still waiting for its next attempt: a restart would pick it up.
    ((_, _, pending),) = outbox.waiting(store)
    assert pending.attempts >= 2


# -- the outbox -----------------------------------------------------------------------------------------


def test_a_notice_waits_in_the_store_until_a_notifier_runs(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    Harness(store).notifier.submit(notice)  # no notifier running, as after a crash or before a start
    ((account, _, pending),) = outbox.waiting(store)
    assert (account, pending.topic_arn, pending.keys, pending.attempts) == (
        ACCOUNT,
        TOPIC_ARN,
        list(notice.keys),
        0,
    )
    # Another process (a restart) sends it.
    assert Harness(store).send(notice) == [Outcome(at=NOW)]
    assert len(endpoint.received) == 1


def test_a_notice_submitted_twice_is_sent_once(store: Store, endpoint: Endpoint) -> None:
    # Delivery submits a file's notice again when it delivers the same range again after a crash.
    notice = topic_notice(store, endpoint)
    harness = Harness(store)
    harness.notifier.submit(notice)
    harness.notifier.submit(notice)
    assert len(outbox.waiting(store)) == 1
    assert harness.send(notice) == [Outcome(at=NOW)]
    assert len(endpoint.received) == 1


def test_a_notice_another_node_holds_is_left_to_it(store: Store, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    harness = Harness(store)
    harness.notifier.submit(notice)
    ((account, ident, _),) = outbox.waiting(store)
    assert outbox.claim(store, account, ident, "node-b", NOW, hold=60.0) is not None
    started = time.monotonic()
    harness.run(lambda: time.monotonic() - started > 0.5)  # several looks at the outbox
    assert endpoint.received == []
    assert harness.outcomes == []
    # node-b died: once its claim runs out, node-a sends the notice.
    harness.clock.advance(61.0)
    harness.send(notice)
    assert len(endpoint.received) == 1


# -- SNS topics -----------------------------------------------------------------------------------------


def sns_notice(topic: Subscribed) -> Notice:
    return Notice(ACCOUNT, TRAIL_ARN, topic.arn, "my-bucket", ("AWSLogs/k.json.gz",))


def test_a_notice_for_an_sns_topic_is_published_once(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint)
    assert Harness(store, sns).send(sns_notice(topic)) == [Outcome(at=NOW)]
    assert topic.quiet_for(0.3) == [{"s3Bucket": "my-bucket", "s3ObjectKey": ["AWSLogs/k.json.gz"]}]
    (envelope,) = topic.received
    assert envelope["Message"] == '{"s3Bucket":"my-bucket","s3ObjectKey":["AWSLogs/k.json.gz"]}'


def test_a_webhook_topic_wins_over_sns(store: Store, sns: Sns, endpoint: Endpoint) -> None:
    notice = topic_notice(store, endpoint)
    assert Harness(store, sns).send(notice) == [Outcome(at=NOW)]
    assert len(endpoint.received) == 1


def test_an_sns_topic_whose_policy_refuses_cloudtrail_is_final(
    store: Store, sns: Sns, moto_sns: MotoSns
) -> None:
    topic = Subscribed.create(moto_sns.endpoint, policy=False)  # SNS's default policy: owner only
    (outcome,) = Harness(store, sns).send(sns_notice(topic))
    assert outcome.error == (
        f"AuthorizationError: the policy of topic {topic.arn} does not let CloudTrail publish for {TRAIL_ARN}"
    )
    assert topic.messages() == []


def test_a_missing_sns_topic_is_final(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    arn = "arn:aws:sns:us-east-1:123456789012:never-made"
    (outcome,) = Harness(store, sns).send(Notice(ACCOUNT, TRAIL_ARN, arn, "b", ("k",)))
    assert outcome.error == f"NotFound: Topic does not exist: {arn}"


def test_sns_down_is_retried_until_it_is_back(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint)
    harness = Harness(store, sns)
    moto_sns.stop()
    try:
        harness.run(lambda: len(harness.outcomes) >= 2, sns_notice(topic))
    finally:
        moto_sns.start()
    for outcome in harness.outcomes:
        assert outcome.error is not None
        assert outcome.error.startswith("EndpointUnreachable: cannot reach SNS to describe topic")
        assert "retrying in" in outcome.error
    # Back: the notice that waited in the store is published, once.
    harness.run(lambda: harness.outcomes[-1].succeeded and not outbox.waiting(store))
    assert topic.quiet_for(0.3) == [{"s3Bucket": "my-bucket", "s3ObjectKey": ["AWSLogs/k.json.gz"]}]


def test_notices_beyond_the_limit_are_dropped_and_reported(
    store: Store, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "MAX_WAITING", 0)  # as if a long outage had filled the outbox
    harness = Harness(store)
    harness.notifier.submit(topic_notice(store, endpoint))
    assert outbox.waiting(store) == []
    (outcome,) = harness.outcomes
    assert outcome.error == "NotificationDropped: 0 notifications are waiting already"
