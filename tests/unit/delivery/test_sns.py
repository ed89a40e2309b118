"""SNS (``delivery/sns.py``) against moto's SNS server on loopback: when the deployment uses SNS, a topic
described by ARN or found by name, a publish that reaches a subscribed queue once, and botocore's
failures turned into ``SnsError`` with whether a later attempt may work."""

from __future__ import annotations

import json

import pytest

from opentrail.delivery.sns import Sns, enabled, open_sns
from opentrail.errors import ConfigError, SnsError
from opentrail.settings import Settings
from tests.support.server import free_port
from tests.support.sns import KEYS, MOTO_ACCOUNT, MotoSns, Subscribed


@pytest.mark.parametrize(
    ("mode", "variable", "expected"),
    [("auto", "http://127.0.0.1:1", True), ("auto", "", False), ("on", "", True), ("off", "http://x", False)],
)
def test_sns_is_used_when_the_deployment_says(mode: str, variable: str, expected: bool) -> None:
    env = {"AWS_ENDPOINT_URL_SNS": variable} if variable else {}
    assert enabled(Settings(sns=mode), env) is expected
    assert (open_sns(Settings(sns=mode), env) is not None) is expected


def test_a_profile_the_aws_config_lacks_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    with pytest.raises(ConfigError, match="OPENTRAIL_SNS_PROFILE 'nobody' cannot be used"):
        open_sns(Settings(sns="on", sns_profile="nobody"), {})


def test_a_topic_is_described_by_arn_and_found_by_name(sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint, "described")
    found = sns.topic(topic.arn)
    assert found is not None
    assert found.arn == topic.arn == f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:described"
    assert json.loads(found.policy)["Statement"][0]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert sns.find("us-east-1", "described") == found
    # A name is looked for in its region only.
    assert sns.find("eu-west-1", "described") is None
    assert sns.topic(f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:never-made") is None
    assert sns.find("us-east-1", "never-made") is None


def test_a_topic_in_another_region_is_asked_of_that_region(sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint, "western", region="eu-west-1")
    found = sns.topic(topic.arn)
    assert found is not None
    assert (found.arn, found.region) == (topic.arn, "eu-west-1")
    sns.publish(topic.arn, '{"s3Bucket":"b","s3ObjectKey":["k"]}')
    assert topic.messages() == [{"s3Bucket": "b", "s3ObjectKey": ["k"]}]


def test_a_publish_reaches_the_subscribers_once(sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint)
    message_id = sns.publish(topic.arn, '{"s3Bucket":"my-bucket","s3ObjectKey":["AWSLogs/k.json.gz"]}')
    (envelope,) = topic.drain()
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic.arn
    assert envelope["Message"] == '{"s3Bucket":"my-bucket","s3ObjectKey":["AWSLogs/k.json.gz"]}'


def test_publishing_to_a_missing_topic_is_final(sns: Sns) -> None:
    with pytest.raises(SnsError) as failed:
        sns.publish(f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:gone", "{}")
    assert (failed.value.code, failed.value.retry) == ("NotFound", False)
    assert "SNS refused to publish to arn:aws:sns:us-east-1:" in failed.value.message


def test_an_unreachable_sns_may_work_later(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", f"http://127.0.0.1:{free_port()}")
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    sns = open_sns(Settings(sns_timeout=1.0))
    assert sns is not None
    arn = f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:t"
    for call in (lambda: sns.topic(arn), lambda: sns.find("us-east-1", "t"), lambda: sns.publish(arn, "{}")):
        with pytest.raises(SnsError) as failed:
            call()
        assert (failed.value.code, failed.value.retry) == ("EndpointUnreachable", True)
        assert "cannot reach SNS to" in str(failed.value)
        # The text reaches API callers and GetTrailStatus: it does not say where SNS is.
        assert "127.0.0.1" not in str(failed.value)


def test_missing_credentials_may_work_later(moto_sns: MotoSns, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", moto_sns.endpoint)
    for name in (*KEYS, "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sns = open_sns(Settings())
    assert sns is not None
    with pytest.raises(SnsError) as failed:
        sns.publish(f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:t", "{}")
    assert (failed.value.code, failed.value.retry) == ("NoCredentials", True)
