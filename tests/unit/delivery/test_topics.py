"""Topics (``delivery/topics.py``): where a trail's notifications go, named by SNS's rules, known by
their ARN in the account and region that made them, with one HTTP(S) endpoint each; operators make
them, so every wrong value is a ``ConfigError`` that names it. And which topic a trail's SnsTopicName
means: the caller's webhook topic first, else a topic on SNS (moto on loopback) by ARN or by name, whose
policy lets CloudTrail publish for the trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.delivery import topics
from opentrail.delivery.sns import Sns
from opentrail.errors import ConfigError, SnsError
from opentrail.store import Store
from tests.support.services import sqlite_store
from tests.support.sns import MOTO_ACCOUNT, MotoSns, Subscribed, cloudtrail_policy

ACCOUNT, OTHER = "111122223333", "444455556666"
URL = "https://hooks.example.com/cloudtrail"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def test_a_topic_is_known_by_its_arn(store: Store) -> None:
    made = topics.create(store, ACCOUNT, "eu-west-1", "trail-events", URL, 1.5, "sub-1")
    assert made.arn == f"arn:aws:sns:eu-west-1:{ACCOUNT}:trail-events"
    assert (made.account, made.region, made.url, made.created) == (ACCOUNT, "eu-west-1", URL, 1.5)
    assert made.subscription_arn == f"arn:aws:sns:eu-west-1:{ACCOUNT}:trail-events:sub-1"
    assert topics.get(store, made.arn) == made
    assert topics.get(store, made.arn.replace(ACCOUNT, OTHER)) is None
    assert topics.get(store, "not an arn") is None


def test_listing_by_account(store: Store) -> None:
    mine = topics.create(store, ACCOUNT, "us-east-1", "a", URL, 0, "s1")
    theirs = topics.create(store, OTHER, "us-east-1", "b", URL, 0, "s2")
    assert topics.list_topics(store, ACCOUNT) == [mine]
    assert topics.list_topics(store) == [mine, theirs]


def test_a_topic_exists_once_per_region(store: Store) -> None:
    topics.create(store, ACCOUNT, "us-east-1", "same", URL, 0, "s1")
    with pytest.raises(ConfigError, match="already exists; delete it first to change its URL"):
        topics.create(store, ACCOUNT, "us-east-1", "same", "http://elsewhere/", 0, "s2")
    topics.create(store, ACCOUNT, "eu-west-1", "same", URL, 0, "s3")
    topics.create(store, OTHER, "us-east-1", "same", URL, 0, "s4")


def test_delete(store: Store) -> None:
    made = topics.create(store, ACCOUNT, "us-east-1", "doomed", URL, 0, "s1")
    topics.delete(store, ACCOUNT, "us-east-1", "doomed")
    assert topics.get(store, made.arn) is None
    with pytest.raises(ConfigError, match=f"topic {made.arn} does not exist"):
        topics.delete(store, ACCOUNT, "us-east-1", "doomed")


@pytest.mark.parametrize("name", ["a", "t" * 256, "My_Topic-1"])
def test_good_names(name: str) -> None:
    topics.check_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "1-256 characters long, got 0"),
        ("t" * 257, "1-256 characters long, got 257"),
        ("my.topic", r"contains '\.'"),
        ("my topic!", "contains ' !'"),
    ],
)
def test_bad_names(name: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        topics.check_name(name)


@pytest.mark.parametrize("url", [URL, "http://127.0.0.1:8080/", "https://[::1]:443/x?y=z"])
def test_good_urls(url: str) -> None:
    topics.check_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "must be http://HOST"),
        ("https:///no-host", "must be http://HOST"),
        ("/relative", "must be http://HOST"),
        ("http://host:99999/", "is not a valid URL"),
        ("http://host/a b", "must not contain spaces"),
        ("http://host/\x01", "control characters"),
        ("http://host/" + "x" * 2048, "at most 2048 characters"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        topics.check_url(url)


def test_regions() -> None:
    for region in ("us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4"):
        topics.check_region(region)
    for region in ("us-east", "US-EAST-1", "global", "us-east-1a"):
        with pytest.raises(ConfigError, match="region must look like us-east-1"):
            topics.check_region(region)


def test_create_checks_what_it_is_given(store: Store) -> None:
    with pytest.raises(ConfigError):
        topics.create(store, ACCOUNT, "us-east-1", "bad name", URL, 0, "s")
    with pytest.raises(ConfigError):
        topics.create(store, ACCOUNT, "nowhere", "good", URL, 0, "s")
    with pytest.raises(ConfigError):
        topics.create(store, ACCOUNT, "us-east-1", "good", "mailto:me@example.com", 0, "s")
    assert topics.list_topics(store) == []


def test_parse_arn() -> None:
    assert topics.parse_arn(f"arn:aws:sns:us-east-1:{ACCOUNT}:t") == ("us-east-1", ACCOUNT, "t")
    assert topics.parse_arn(f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:t") == ("cn-north-1", ACCOUNT, "t")
    for bad in (
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:t",
        "arn:aws:sns:us-east-1:1:t",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:",
    ):
        assert topics.parse_arn(bad) is None


# -- which topic a trail's SnsTopicName means ----------------------------------------------------------------

TRAIL = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/t"


def test_without_sns_only_the_callers_webhook_topics_resolve(store: Store) -> None:
    mine = topics.create(store, ACCOUNT, "us-east-1", "mine", URL, 0, "s1")
    theirs = topics.create(store, OTHER, "us-east-1", "theirs", URL, 0, "s2")
    assert topics.resolve(store, None, mine.arn, ACCOUNT, TRAIL) == mine.arn
    assert topics.resolve(store, None, theirs.arn, ACCOUNT, TRAIL) is None
    assert topics.resolve(store, None, f"arn:aws:sns:us-east-1:{ACCOUNT}:missing", ACCOUNT, TRAIL) is None


def test_an_sns_topic_resolves_by_arn_or_by_name(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    topic = Subscribed.create(moto_sns.endpoint, "on-sns")
    assert topic.arn == f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:on-sns"
    assert topics.resolve(store, sns, topic.arn, ACCOUNT, TRAIL) == topic.arn
    # A name (the ARN CreateTrail builds in the caller's account) is looked for by name on SNS, whose
    # account is not OpenTrail's.
    assert topics.resolve(store, sns, f"arn:aws:sns:us-east-1:{ACCOUNT}:on-sns", ACCOUNT, TRAIL) == topic.arn
    # ... in the trail's region only, and never for an ARN in another OpenTrail account.
    assert topics.resolve(store, sns, f"arn:aws:sns:eu-west-1:{ACCOUNT}:on-sns", ACCOUNT, TRAIL) is None
    assert topics.resolve(store, sns, f"arn:aws:sns:us-east-1:{OTHER}:on-sns", ACCOUNT, TRAIL) is None


def test_a_webhook_topic_comes_before_sns(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    Subscribed.create(moto_sns.endpoint, "both")
    webhook = topics.create(store, ACCOUNT, "us-east-1", "both", URL, 0, "s1")
    assert topics.resolve(store, sns, webhook.arn, ACCOUNT, TRAIL) == webhook.arn


def test_an_sns_topic_must_let_cloudtrail_publish_for_the_trail(
    store: Store, sns: Sns, moto_sns: MotoSns
) -> None:
    topic = Subscribed.create(moto_sns.endpoint, "guarded", policy=False)  # SNS's default: owner only
    assert topics.resolve(store, sns, topic.arn, ACCOUNT, TRAIL) is None
    topic.set_policy(cloudtrail_policy(topic.arn, {"StringEquals": {"aws:SourceAccount": OTHER}}))
    assert topics.resolve(store, sns, topic.arn, ACCOUNT, TRAIL) is None
    topic.set_policy(cloudtrail_policy(topic.arn, {"StringEquals": {"aws:SourceArn": TRAIL}}))
    assert topics.resolve(store, sns, topic.arn, ACCOUNT, TRAIL) == topic.arn
    assert topics.resolve(store, sns, topic.arn, ACCOUNT, TRAIL + "-other") is None


def test_sns_that_cannot_be_asked_is_an_sns_error(store: Store, sns: Sns, moto_sns: MotoSns) -> None:
    moto_sns.stop()
    try:
        with pytest.raises(SnsError, match="EndpointUnreachable"):
            topics.resolve(store, sns, f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:t", ACCOUNT, TRAIL)
    finally:
        moto_sns.start()
