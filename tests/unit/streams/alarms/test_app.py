"""The alarms as the real app runs them (``server.app.create_app`` served on loopback): its evaluator
loop and its notifier take an alarm's transition to a webhook topic once, and to a topic on an
SNS-compatible service (moto on loopback) with CloudWatch's Subject, and record the Action item.

The alarms are put in process with the operations table (the CloudWatch protocols are another part's);
they treat missing data as breaching, so no metric datapoint is needed to make them fire."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from opentrail.context import Call, Services
from opentrail.delivery import topics
from opentrail.server.app import create_app
from opentrail.settings import Settings
from opentrail.store import AccessKey
from opentrail.store.alarms import HistoryQuery
from opentrail.streams.alarms.operations import OPERATIONS
from tests.support.loopback import serve_app
from tests.support.sns import KEYS, MotoSns, Subscribed
from tests.support.stub import Stub, serve_stub

ACCOUNT = "123456789012"  # moto's account: its topics' ARNs name it


@pytest.fixture(scope="module")
def moto_sns() -> Iterator[MotoSns]:
    moto = MotoSns()
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture
def services(tmp_path: Path, moto_sns: MotoSns, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", moto_sns.endpoint)
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    app = create_app(Settings(data_dir=tmp_path, account_id=ACCOUNT, sns_timeout=2.0))
    for _ in serve_app(app):
        yield app.state.services


@pytest.fixture
def webhook() -> Iterator[Stub]:
    """A webhook endpoint on loopback, keeping every POST it gets."""
    yield from serve_stub()


def call(services: Services) -> Call:
    key = AccessKey("AKIAALARMS", "secret", ACCOUNT, "root", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, True, 0)
    return Call(services=services, key=key, region="us-east-1", request_id="r-1")


def put_alarm(services: Services, name: str, topic: str) -> None:
    params = {
        "AlarmName": name,
        "MetricName": "RootAccountUsage",
        "Namespace": "CISBenchmark",
        "Statistic": "Sum",
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "breaching",
        "AlarmActions": [topic],
    }
    OPERATIONS["PutMetricAlarm"](call(services), params)


def eventually(condition: Callable[[], object], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def actions(services: Services, name: str) -> list[str]:
    rows = services.store.alarms.history(HistoryQuery(ACCOUNT, "us-east-1", name=name, item_type="Action"))
    return [r.summary for r in rows]


def test_the_app_notifies_a_webhook_topic_once(services: Services, webhook: Stub) -> None:
    topic = topics.create(services.store, ACCOUNT, "us-east-1", "security", f"{webhook.url}/hook", 0, "sub-1")
    put_alarm(services, "root-login", topic.arn)
    eventually(lambda: webhook.requests)
    time.sleep(2.5)  # more passes of the evaluator: the state does not change, nothing more is sent
    (envelope,) = [json.loads(sent.body) for sent in webhook.requests]
    assert envelope["Subject"] == 'ALARM: "root-login" in US East (N. Virginia)'
    message = json.loads(envelope["Message"])
    assert (message["AlarmName"], message["NewStateValue"], message["AWSAccountId"]) == (
        "root-login",
        "ALARM",
        ACCOUNT,
    )
    assert message["NewStateReason"] == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated "
        "as [Breaching]."
    )
    eventually(lambda: actions(services, "root-login"))
    assert actions(services, "root-login") == [f"Successfully executed action {topic.arn}"]


def cloudwatch_policy(topic_arn: str, alarm_arn: str) -> str:
    """A topic policy letting CloudWatch publish for one alarm (its ARN as ``aws:SourceArn``)."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "SNS:Publish",
        "Resource": topic_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": alarm_arn}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_the_app_publishes_to_an_sns_topic_with_cloudwatchs_subject(
    services: Services, moto_sns: MotoSns
) -> None:
    topic = Subscribed.create(moto_sns.endpoint, policy=False)
    alarm_arn = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:console-no-mfa"
    topic.set_policy(cloudwatch_policy(topic.arn, alarm_arn))
    put_alarm(services, "console-no-mfa", topic.arn)
    eventually(topic.drain)
    (envelope,) = topic.drain()
    assert envelope["Subject"] == 'ALARM: "console-no-mfa" in US East (N. Virginia)'
    assert json.loads(envelope["Message"])["AlarmArn"] == alarm_arn
    eventually(lambda: actions(services, "console-no-mfa"))
    assert actions(services, "console-no-mfa") == [f"Successfully executed action {topic.arn}"]


def test_an_sns_topic_whose_policy_refuses_cloudwatch_is_a_failed_action(
    services: Services, moto_sns: MotoSns
) -> None:
    topic = Subscribed.create(moto_sns.endpoint)  # CloudTrail's policy: not CloudWatch's
    put_alarm(services, "iam-changes", topic.arn)
    eventually(lambda: actions(services, "iam-changes"))
    assert actions(services, "iam-changes") == [f"Failed to execute action {topic.arn}"]
    assert topic.quiet_for(0.5) == []
