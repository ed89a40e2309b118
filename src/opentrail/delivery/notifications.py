"""Notifications: after a log file is delivered, tell the trail's topic, as CloudTrail tells SNS (§5.4).

The message is CloudTrail's ``{"s3Bucket": "...", "s3ObjectKey": ["..."]}``; the topic's endpoint gets
it inside an SNS ``Notification`` envelope, POSTed the way SNS posts to an HTTP(S) subscriber (header
``x-amz-sns-message-type: Notification``, body ``Type``, ``MessageId``, ``TopicArn``, ``Message``,
``Timestamp``). The envelope is not signed: there is no SNS certificate to sign it with, so endpoints
should trust the network path, not a signature.

Sending never holds up delivery: the deliverer hands a ``Notice`` to ``Notifier.submit`` (any thread,
never blocks) and an asyncio worker POSTs it, retrying connection errors, timeouts, 5xx, 408 and 429
with exponential backoff a few times. Other 4xx answers are final, as they are for SNS. Each notice's
outcome goes to ``record`` (the trail's GetTrailStatus facts). Notices live in memory only: a crash
loses the unsent ones (the log files themselves are safe in the bucket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from starlette.concurrency import run_in_threadpool

from opentrail.clock import Clock, format_time_millis
from opentrail.delivery import topics
from opentrail.errors import StoreError
from opentrail.store import Store

log = logging.getLogger("opentrail.notifications")

MAX_ATTEMPTS = 4
TIMEOUT_SECONDS = 5.0
MAX_IN_FLIGHT = 16
MAX_QUEUED = 10_000
USER_AGENT = "Amazon Simple Notification Service Agent (OpenTrail)"
_RETRIED_STATUSES = {408, 429}


@dataclass(frozen=True)
class Notice:
    """One delivered log file to announce."""

    account: str
    trail_arn: str
    topic_arn: str
    bucket: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    at: float
    error: str | None = None  # None: the endpoint accepted the notification

    @property
    def succeeded(self) -> bool:
        return self.error is None


def message(bucket: str, keys: tuple[str, ...]) -> str:
    """CloudTrail's message text (the SNS ``Message`` member is this JSON as a string)."""
    return json.dumps({"s3Bucket": bucket, "s3ObjectKey": list(keys)}, separators=(",", ":"))


def envelope(topic: topics.Topic, notice: Notice, message_id: str, timestamp: str) -> dict[str, str]:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic.arn,
        "Message": message(notice.bucket, notice.keys),
        "Timestamp": timestamp,
    }


class Notifier:
    """Sends notices from the event loop ``run`` is started on; ``submit`` may be called from any thread."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        record: Callable[[Notice, Outcome], None],
        retry_delay: float,
        new_id: Callable[[], str],
        attempts: int = MAX_ATTEMPTS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.record = record
        self.new_id = new_id
        # Waits between attempts: retry_delay, then doubling.
        self.delays = [retry_delay * 2**i for i in range(max(0, attempts - 1))]
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._client: httpx.AsyncClient | None = None

    def submit(self, notice: Notice) -> None:
        """Queue ``notice`` for sending; never blocks and never raises (a full or stopped notifier
        drops it with a warning and records the failure)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("notification for %s dropped: the notifier is not running", notice.trail_arn)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
            loop.call_soon_threadsafe(self._start, notice)

    def _start(self, notice: Notice) -> None:
        if self._queued >= MAX_QUEUED:
            log.warning("notification for %s dropped: %d already waiting", notice.trail_arn, self._queued)
            return
        self._queued += 1
        task = asyncio.get_running_loop().create_task(self._send(notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Accept notices until cancelled; in-flight sends are cancelled with it."""
        self._loop = asyncio.get_running_loop()
        # trust_env off: proxy variables must not divert notifications meant for the topic's URL.
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)
        try:
            await asyncio.Event().wait()
        finally:
            self._loop = None
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._client.aclose()

    async def _send(self, notice: Notice) -> None:
        try:
            async with self._slots:
                error = await self._attempts(notice)
            outcome = Outcome(at=self.clock.now(), error=error)
            if error is not None:
                log.warning("notification to %s failed: %s", notice.topic_arn, error)
            try:
                await run_in_threadpool(self.record, notice, outcome)
            except (StoreError, KeyError) as err:  # the trail is gone, or the store is failing
                log.warning("notification outcome for %s not recorded: %s", notice.trail_arn, err)
        finally:
            self._queued -= 1

    async def _attempts(self, notice: Notice) -> str | None:
        """Send with retries; the error text of the last attempt, or None on success."""
        try:
            topic = await run_in_threadpool(topics.get, self.store, notice.topic_arn)
        except StoreError as err:
            return f"InternalError: cannot read topic {notice.topic_arn}: {err}"
        # Another account's topic is treated as absent, as CreateTrail treats it (accounts are isolated).
        # The trail's owner counts, not ``notice.account``: an organization trail announces its members'
        # files to its management account's topic.
        if topic is None or topic.account != notice.trail_arn.split(":")[4]:
            return f"NotFound: Topic does not exist: {notice.topic_arn}"
        message_id = self.new_id()  # the same id on every retry, as SNS keeps it
        error: str | None = None
        for attempt in range(len(self.delays) + 1):
            if attempt:
                await asyncio.sleep(self.delays[attempt - 1])
            error, retry = await self._post(topic, notice, message_id)
            if error is None or not retry:
                return error
        return f"{error} (after {len(self.delays) + 1} attempts)"

    async def _post(self, topic: topics.Topic, notice: Notice, message_id: str) -> tuple[str | None, bool]:
        """One POST: (error text or None, whether another attempt may succeed)."""
        assert self._client is not None  # noqa: S101 -- set by run(), which starts every send
        body = json.dumps(envelope(topic, notice, message_id, format_time_millis(self.clock.now())), indent=2)
        headers = {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": message_id,
            "x-amz-sns-topic-arn": topic.arn,
            "x-amz-sns-subscription-arn": topic.subscription_arn,
            "content-type": "text/plain; charset=UTF-8",
            "user-agent": USER_AGENT,
        }
        try:
            response = await self._client.post(topic.url, content=body.encode(), headers=headers)
        except httpx.TimeoutException:
            return f"EndpointTimeout: no answer from the endpoint of {topic.arn} in {self.timeout:g} s", True
        except httpx.HTTPError as err:
            return f"EndpointUnreachable: cannot reach the endpoint of {topic.arn}: {err}", True
        status = response.status_code
        if 200 <= status < 300:
            return None, False
        retry = status >= 500 or status in _RETRIED_STATUSES
        return f"EndpointError: the endpoint of {topic.arn} answered HTTP {status}", retry
