"""Notifications to a topic on SNS (moto on loopback), end to end: each delivered log file is published
once with CloudTrail's message; while SNS is down the failure shows in GetTrailStatus and delivery goes
on, and once SNS is back every file is published, once -- even across a server killed meanwhile.

Every wait is bounded polling; an SQS queue subscribed to the topic shows what was published."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import datetime
from typing import Any

from tests.support.server import make_server, wait_for
from tests.support.sns import MotoSns, Publisher, server_env


def no_repeats(publisher: Publisher) -> set[str]:
    """Every key the topic was told of, after a pause long enough for a repeat to show: none twice."""
    publisher.topic.quiet_for(2.0)
    counted = Counter(publisher.announced())
    assert [key for key, n in counted.items() if n > 1] == []
    return set(counted)


def failing(publisher: Publisher, name: str) -> dict[str, Any]:
    def reported() -> dict[str, Any]:
        status = publisher.status(name)
        return status if "LatestNotificationError" in status else {}

    return wait_for(reported, "LatestNotificationError in GetTrailStatus")


def test_each_delivered_file_is_published_once(publisher: Publisher) -> None:
    name = publisher.trail(publisher.topic.arn)
    publisher.ingest()
    keys = publisher.all_announced()
    for envelope in publisher.topic.received:
        assert envelope["Type"] == "Notification"
        assert envelope["TopicArn"] == publisher.topic.arn
    for message in publisher.topic.messages():
        # CloudTrail's message, exactly: the bucket and the one file delivered.
        assert set(message) == {"s3Bucket", "s3ObjectKey"}
        assert message["s3Bucket"] == publisher.tenant.bucket
        (key,) = message["s3ObjectKey"]
        assert key.startswith(f"AWSLogs/{publisher.tenant.account_id}/CloudTrail/us-east-1/")
    assert keys <= no_repeats(publisher) <= publisher.log_keys()
    status = publisher.status(name)
    assert "LatestNotificationError" not in status
    assert isinstance(status["LatestNotificationTime"], datetime)
    assert status["LatestNotificationAttemptSucceeded"] == status["LatestNotificationAttemptTime"]


def test_sns_down_is_shown_and_every_file_is_published_once_it_is_back(
    publisher: Publisher, moto_sns: MotoSns
) -> None:
    name = publisher.trail(publisher.topic.arn)
    publisher.ingest()
    publisher.all_announced()
    moto_sns.stop()
    try:
        before = publisher.log_keys()
        publisher.ingest()
        wait_for(lambda: publisher.log_keys() - before, "a log file delivered while SNS is down")
        status = failing(publisher, name)
        assert status["LatestNotificationError"].startswith("EndpointUnreachable: cannot reach SNS")
        assert "retrying in" in status["LatestNotificationError"]
        # Delivery goes on: files keep arriving and delivery reports no error.
        assert "LatestDeliveryError" not in status
        before = publisher.log_keys()
        publisher.ingest()
        wait_for(lambda: publisher.log_keys() - before, "a further log file while SNS is down")
    finally:
        moto_sns.start()
    keys = publisher.all_announced()
    assert keys <= no_repeats(publisher)
    wait_for(lambda: "LatestNotificationError" not in publisher.status(name), "the error cleared")


def test_a_server_killed_while_sns_is_down_loses_no_notification(moto_sns: MotoSns) -> None:
    env = {
        **server_env(moto_sns.endpoint),
        "OPENTRAIL_DELIVERY_INTERVAL": "1",
        "OPENTRAIL_NOTIFICATION_RETRY_DELAY": "0.2",
        # The restarted process is the same node: what the killed one held is its own again at once.
        "OPENTRAIL_NODE_ID": "node-sns",
    }
    with contextlib.contextmanager(make_server)(env) as server:
        publisher = Publisher.create(server, moto_sns.endpoint)
        name = publisher.trail(publisher.topic.arn)
        moto_sns.stop()
        try:
            publisher.ingest()
            waiting = wait_for(publisher.log_keys, "a log file delivered while SNS is down")
            failing(publisher, name)
            server.kill()
        finally:
            moto_sns.start()
        server.start()
        keys = publisher.all_announced()
        assert waiting <= keys <= no_repeats(publisher)
