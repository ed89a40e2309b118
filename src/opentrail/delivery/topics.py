"""Topics: where a trail's notifications go (the role SNS plays for CloudTrail).

A trail's topic is one of two kinds. A *webhook topic* is a document of kind ``topic`` in its account
and region, named by SNS's rules and known by its ARN ``arn:aws:sns:<region>:<account>:<name>``; its one
subscriber is an HTTP(S) endpoint, which receives each notification as SNS would POST it (see
``notifications``). Webhook topics are made by operators (``opentrail topic create``), not through the
API, so the functions that manage them raise ``ConfigError``. An *SNS topic* lives on an SNS-compatible
service (``sns``), when the deployment uses one.

``resolve`` decides which topic a trail's ``SnsTopicName`` means, webhook topics first:

1. a webhook topic of the caller's account with that ARN (a name is the ARN in the trail's home region
   and the caller's account, as CloudTrail builds it);
2. else, SNS being used, the topic with that ARN on SNS;
3. else, when the ARN is in the caller's own account (always so for a name), the topic of that name in
   that region on SNS: SNS's account is the credentials' account, which OpenTrail's account ids are not.

An SNS topic must also let CloudTrail publish for the trail (``policies``), as AWS requires.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec

from opentrail.delivery.policies import allows_cloudtrail
from opentrail.delivery.sns import Sns
from opentrail.errors import ConfigError, ConflictError
from opentrail.store import Doc, Store

KIND = "topic"
MAX_NAME = 256
MAX_URL = 2048
DEFAULT_REGION = "us-east-1"
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})")


class Topic(msgspec.Struct, kw_only=True):
    name: str
    arn: str
    url: str
    # The endpoint's subscription id: SNS names it in ``x-amz-sns-subscription-arn`` on every POST.
    subscription: str
    created: float

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def subscription_arn(self) -> str:
        return f"{self.arn}:{self.subscription}"


def topic_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account}:{name}"


def check_name(name: str) -> None:
    if not 1 <= len(name) <= MAX_NAME:
        raise ConfigError(f"topic name must be 1-{MAX_NAME} characters long, got {len(name)}")
    if not _NAME.fullmatch(name):
        bad = "".join(sorted({ch for ch in name if not _NAME.fullmatch(ch)}))
        raise ConfigError(
            f"topic name {name[:80]!r} contains {bad!r}; only ASCII letters, digits, '_' and '-' are allowed"
        )


def check_url(url: str) -> None:
    """An absolute http or https URL with a host: the only kinds of endpoint a topic POSTs to."""
    if len(url) > MAX_URL:
        raise ConfigError(f"topic URL must be at most {MAX_URL} characters long, got {len(url)}")
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        raise ConfigError(f"topic URL {url[:80]!r} must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(f"topic URL {url[:80]!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"topic URL must be http://HOST/... or https://HOST/..., got {url[:80]!r}")


def check_region(region: str) -> None:
    if not _REGION.fullmatch(region):
        raise ConfigError(f"region must look like us-east-1, got {region[:40]!r}")


def parse_arn(arn: str) -> tuple[str, str, str] | None:
    """``(region, account, name)`` of an SNS topic ARN, or None when ``arn`` is not one."""
    match = _ARN.fullmatch(arn)
    return None if match is None else (match.group(1), match.group(2), match.group(3))


def create(
    store: Store, account: str, region: str, name: str, url: str, now: float, subscription: str
) -> Topic:
    """A new topic; ``subscription`` is its subscription's id (SNS's SubscriptionArn suffix)."""
    check_name(name)
    check_region(region)
    check_url(url)
    topic = Topic(
        name=name, arn=topic_arn(region, account, name), url=url, subscription=subscription, created=now
    )
    doc = Doc(KIND, account, region, name, topic.arn, msgspec.to_builtins(topic))

    def unique(docs: list[Doc]) -> None:
        if any(d.arn == topic.arn for d in docs):
            raise ConflictError(topic.arn)

    try:
        store.insert_doc(doc, unique)
    except ConflictError:
        raise ConfigError(f"topic {topic.arn} already exists; delete it first to change its URL") from None
    return topic


def get(store: Store, arn: str) -> Topic | None:
    """The topic with ``arn`` (in the account the ARN names), or None."""
    parsed = parse_arn(arn)
    if parsed is None:
        return None
    doc = store.get_doc(KIND, parsed[1], arn)
    return None if doc is None else msgspec.convert(doc.body, Topic)


def list_topics(store: Store, account: str | None = None) -> list[Topic]:
    return [msgspec.convert(doc.body, Topic) for doc in store.list_docs(KIND, account)]


def delete(store: Store, account: str, region: str, name: str) -> None:
    check_name(name)
    arn = topic_arn(region, account, name)
    if not store.delete_doc(KIND, account, arn):
        raise ConfigError(f"topic {arn} does not exist")


def resolve(store: Store, sns: Sns | None, arn: str, account: str, trail_arn: str) -> str | None:
    """The ARN of the topic that ``arn`` (a trail's SnsTopicARN as CreateTrail builds it) names for the
    trail ``trail_arn`` of ``account``, by the rules above; None when there is none the trail may publish
    to. Blocking (store and SNS calls); ``SnsError`` when SNS cannot be asked."""
    webhook = get(store, arn)
    if webhook is not None and webhook.account == account:
        return webhook.arn
    parsed = parse_arn(arn)
    if sns is None or parsed is None:
        return None
    region, owner, name = parsed
    topic = sns.topic(arn)
    if topic is None and owner == account:
        topic = sns.find(region, name)
    if topic is None or not allows_cloudtrail(topic.policy, topic.arn, trail_arn):
        return None
    return topic.arn
