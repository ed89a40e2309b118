"""An alarm's transitions reach a webhook topic on loopback through the durable outbox: the evaluator
queues each transition's notice in the transaction that records it and tells the notifier, which POSTs
CloudWatch's message in SNS's envelope -- once per transition, however many passes and evaluators see
the same state -- and each delivery leaves an Action history item."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.delivery import outbox, topics
from opentrail.delivery.notifications import Notifier
from opentrail.store.alarms import HistoryQuery
from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.alarms.actions import route_outcomes
from opentrail.streams.alarms.evaluator import Evaluator
from opentrail.streams.alarms.operations import OPERATIONS
from tests.support.calls import Env
from tests.support.stub import Stub, serve_stub
from tests.unit.streams.alarms.conftest import T

Received = list[tuple[dict[str, str], dict[str, Any]]]


@pytest.fixture
def received() -> Iterator[Stub]:
    """A webhook endpoint on loopback, keeping every POST it gets."""
    yield from serve_stub()


def posts_of(stub: Stub) -> Received:
    """The (headers, JSON body) of every POST the endpoint got, oldest first."""
    return [(sent.headers, json.loads(sent.body)) for sent in list(stub.requests)]


def run_until(notifier: Notifier, done: Callable[[], bool], *steps: Callable[[], None]) -> None:
    """Run the notifier; run each step (in a thread, as the evaluator's loop does) once the previous
    one's notices are sent; stop when ``done()`` holds (failing after 20 s)."""

    async def main() -> None:
        running = asyncio.create_task(notifier.run())
        try:
            for step in steps:
                await asyncio.to_thread(step)
                await wait(lambda: not outbox.waiting(notifier.store))
            await wait(done)
            await asyncio.sleep(0.3)  # anything sent twice would arrive meanwhile
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    async def wait(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 20
        while not condition():
            assert time.monotonic() < deadline, "the notifier did not get there in 20 s"
            await asyncio.sleep(0.01)

    asyncio.run(main())


def test_a_webhook_topic_gets_each_transition_once(
    env: Env, account: str, clock: FixedClock, received: Stub
) -> None:
    topic = topics.create(env.store, account, "us-east-1", "ops", f"{received.url}/hook", 0, "sub-1")
    OPERATIONS["PutMetricAlarm"](
        env.call(account),
        {
            "AlarmName": "errors",
            "MetricName": "Errors",
            "Namespace": "App",
            "Statistic": "Sum",
            "Period": 10,
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [topic.arn],
            "OKActions": [topic.arn],
        },
    )
    key = MetricKey(account, "us-east-1", "App", "Errors")
    samples = [Sample(int(T) + 3, 1.0, 5.0, 5.0, 5.0), Sample(int(T) + 12, 1.0, 0.0, 0.0, 0.0)]

    def source(wanted: MetricKey, start: int, end: int) -> list[Sample]:
        return [s for s in samples if wanted == key and start <= s.second < end]

    ids = iter(range(1, 100))
    notifier = Notifier(
        env.store, clock, route_outcomes(env.store, lambda *_: None), 0.1, lambda: f"message-{next(ids)}"
    )
    evaluators = [
        Evaluator(
            env.store, clock, notifier.new_id, samples=source, queued=notifier.queued, node=node, shared=True
        )
        for node in ("node-1", "node-2")
    ]

    def passes(at: float) -> Callable[[], None]:
        def step() -> None:
            clock.value = at
            for _ in range(3):  # several passes of both nodes see the same state
                for evaluator in evaluators:
                    evaluator.run_once()

        return step

    run_until(notifier, lambda: len(received.requests) >= 2, passes(T + 10.2), passes(T + 20.2))
    posts = posts_of(received)
    assert [body["Subject"] for _, body in posts] == [
        'ALARM: "errors" in US East (N. Virginia)',
        'OK: "errors" in US East (N. Virginia)',
    ]
    headers, first = posts[0]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-topic-arn"] == topic.arn
    assert (first["Type"], first["MessageId"], first["TopicArn"]) == ("Notification", "message-1", topic.arn)
    message = json.loads(first["Message"])
    assert (message["AlarmName"], message["OldStateValue"], message["NewStateValue"]) == (
        "errors",
        "INSUFFICIENT_DATA",
        "ALARM",
    )
    assert message["StateChangeTime"] == "2026-07-12T10:00:10.200+0000"
    actions = env.store.alarms.history(HistoryQuery(account, "us-east-1", item_type="Action"))
    assert [a.summary for a in actions] == [f"Successfully executed action {topic.arn}"] * 2
