"""SNS: topics of an SNS-compatible service (AWS SNS, LocalStack, moto) reached through boto3.

The clients come from the standard AWS chain (environment, shared config, instance role; or the profile
``OPENTRAIL_SNS_PROFILE``), so ``AWS_ENDPOINT_URL_SNS`` / ``AWS_ENDPOINT_URL`` point them elsewhere with
no code here. ``OPENTRAIL_SNS`` says whether SNS is used at all: ``auto`` (the default) when
``AWS_ENDPOINT_URL_SNS`` is set, ``on`` always (real AWS), ``off`` never. Each client signs for the
region of the topic it calls, and every call is bounded: connect and read timeouts of
``OPENTRAIL_SNS_TIMEOUT`` seconds and two attempts at most (the notifier retries later on its own).
botocore's exceptions become ``SnsError`` at this boundary and never reach a caller.

Every method blocks: callers run them in a thread, never on the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
from cachetools import LRUCache

from opentrail.errors import ConfigError, SnsError
from opentrail.settings import Settings

log = logging.getLogger("opentrail.sns")

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_SNS"
# ListTopics answers 100 topics a page: a name is looked for among the first 2,000 of a region.
MAX_PAGES = 20
ATTEMPTS = 2
# Clients are heavy (a botocore client is about a megabyte): keep those of the regions used lately.
MAX_CLIENTS = 16
# Answers that another attempt may change; anything else from SNS with a 4xx status is final.
_RETRIED_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KMSThrottling",
    # Credentials that are wrong or expired get fixed without the topic changing (a rotated key, a
    # renewed role session): later attempts may well succeed.
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
}
_MISSING = {"NotFound", "NotFoundException"}


@dataclass(frozen=True)
class SnsTopic:
    """A topic as SNS describes it: its ARN and its access policy (JSON text, "" when none)."""

    arn: str
    policy: str

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]


def enabled(settings: Settings, env: Mapping[str, str]) -> bool:
    if settings.sns == "auto":
        return bool(env.get(ENDPOINT_VARIABLE))
    return settings.sns == "on"


def open_sns(settings: Settings, env: Mapping[str, str] | None = None) -> Sns | None:
    """The deployment's SNS, or None when SNS is not used (``OPENTRAIL_SNS``)."""
    if not enabled(settings, os.environ if env is None else env):
        return None
    try:
        session = boto3.Session(profile_name=settings.sns_profile or None)
    except botocore.exceptions.BotoCoreError as exc:  # a profile the AWS config does not have
        raise ConfigError(f"OPENTRAIL_SNS_PROFILE {settings.sns_profile!r} cannot be used: {exc}") from None
    return Sns(session, settings.sns_timeout)


def _code(exc: botocore.exceptions.ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return str(error.get("Code", "")), int(status or 0)


def _failure(exc: Exception, what: str) -> SnsError:
    """The ``SnsError`` for a botocore failure while doing ``what`` (e.g. "publish to arn:..."). Its
    text reaches API callers and GetTrailStatus, so it names SNS's own answer but not the endpoint or
    credentials in use; the operator's log gets botocore's whole text."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code, status = _code(exc)
        text = exc.response.get("Error", {}).get("Message", "") or f"HTTP {status}"
        retry = status >= 500 or status == 429 or code in _RETRIED_CODES
        return SnsError(code or f"HTTP{status}", f"SNS refused to {what}: {text}", retry)
    log.warning("SNS call failed (%s): %s", what, exc)
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError | botocore.exceptions.ReadTimeoutError):
        return SnsError("EndpointTimeout", f"no answer from SNS in time to {what}", True)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return SnsError("NoCredentials", f"no usable AWS credentials to {what}", True)
    if isinstance(exc, botocore.exceptions.HTTPClientError | botocore.exceptions.EndpointConnectionError):
        return SnsError("EndpointUnreachable", f"cannot reach SNS to {what}", True)
    return SnsError(type(exc).__name__, f"cannot {what}", True)


class Sns:
    """Topics on SNS, through one boto3 client per region (clients are thread-safe, sessions are not)."""

    def __init__(self, session: boto3.Session, timeout: float) -> None:
        self.session = session
        self.config = botocore.config.Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
        )
        self.timeout = timeout
        self._clients: LRUCache[str, Any] = LRUCache(maxsize=MAX_CLIENTS)
        self._lock = threading.Lock()

    def _client(self, region: str) -> Any:
        # boto3-stubs without the sns service package types clients loosely: Any says so honestly.
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                try:
                    client = self.session.client("sns", region_name=region, config=self.config)
                except botocore.exceptions.BotoCoreError as exc:  # e.g. a region name botocore refuses
                    log.warning("SNS client for region %r not set up: %s", region, exc)
                    raise SnsError(
                        "ClientSetup", f"cannot set up an SNS client for {region!r}", True
                    ) from None
                self._clients[region] = client
            return client

    def topic(self, arn: str) -> SnsTopic | None:
        """The topic ``arn`` (GetTopicAttributes), or None when SNS says it does not exist."""
        region = arn.split(":")[3]
        try:
            attributes = self._client(region).get_topic_attributes(TopicArn=arn)["Attributes"]
        except botocore.exceptions.ClientError as exc:
            if _code(exc)[0] in _MISSING:
                return None
            raise _failure(exc, f"describe topic {arn}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise _failure(exc, f"describe topic {arn}") from None
        policy = str(attributes.get("Policy") or "")
        return SnsTopic(arn=str(attributes.get("TopicArn") or arn), policy=policy)

    def find(self, region: str, name: str) -> SnsTopic | None:
        """The topic called ``name`` in ``region`` of the account SNS's credentials belong to (ListTopics:
        a name is all CloudTrail gets, and OpenTrail's account ids are not SNS's)."""
        what = f"list the topics of {region}"
        paginator = self._client(region).get_paginator("list_topics")
        # Each page is bounded by the timeouts; the whole search too, as CreateTrail waits for it.
        deadline = time.monotonic() + 4 * self.timeout
        try:
            for page in paginator.paginate(PaginationConfig={"MaxItems": MAX_PAGES * 100}):
                if time.monotonic() > deadline:
                    raise SnsError("EndpointTimeout", f"SNS took over {4 * self.timeout:g} s to {what}", True)
                for item in page.get("Topics", []):
                    arn = str(item.get("TopicArn", ""))
                    if arn.rsplit(":", 1)[-1] == name:
                        return self.topic(arn)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _failure(exc, what) from None
        return None

    def publish(self, arn: str, message: str, subject: str | None = None) -> str:
        """Publish ``message`` (with ``subject``, if any) to ``arn``; SNS's MessageId."""
        region = arn.split(":")[3]
        extra = {} if subject is None else {"Subject": subject}
        try:
            answer = self._client(region).publish(TopicArn=arn, Message=message, **extra)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise _failure(exc, f"publish to {arn}") from None
        return str(answer.get("MessageId", ""))
