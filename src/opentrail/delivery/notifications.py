"""Notifications: after a log file is delivered, tell the trail's topic, as CloudTrail tells SNS (§5.4).

The message is CloudTrail's ``{"s3Bucket": "...", "s3ObjectKey": ["..."]}``. Where it goes depends on the
topic the trail names (``topics.resolve``):

- a *webhook topic*: the endpoint gets it inside an SNS ``Notification`` envelope, POSTed the way SNS
  posts to an HTTP(S) subscriber (header ``x-amz-sns-message-type: Notification``, body ``Type``,
  ``MessageId``, ``TopicArn``, ``Message``, ``Timestamp``). The envelope is not signed: there is no SNS
  certificate to sign it with, so endpoints should trust the network path, not a signature.
- an *SNS topic*: it is published there (``sns.publish`` with the message as CloudTrail sends it), once
  the topic's policy still lets CloudTrail publish for the trail (``policies``).

A CloudWatch alarm's notice carries its own Subject and message (``Notice.subject``/``message``): a
webhook gets them in the same envelope (with ``Subject``), an SNS topic once its policy lets
``cloudwatch.amazonaws.com`` publish for the alarm. The alarm's transition keeps its notices in the
outbox itself and tells the notifier (``queued``).

Delivery hands each notice to ``Notifier.submit``, which keeps it in the ``outbox`` (the store) before the
delivery's cursor moves past its file, so neither a crash nor a restart loses it; an asyncio loop sends
what is due. Connection errors, timeouts, 5xx, 408, 429 and SNS's throttling and credential errors are
retried with exponential backoff (``OPENTRAIL_NOTIFICATION_RETRY_DELAY``, doubling, at most
``MAX_RETRY_DELAY``) for ``OPENTRAIL_NOTIFICATION_MAX_AGE`` seconds; other 4xx answers, a missing topic
and a policy that refuses CloudTrail (or CloudWatch) are final. Every attempt's outcome goes to ``record``
(the trail's GetTrailStatus facts, an alarm's Action history item), so a failing topic shows while it is
retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import httpx
from starlette.concurrency import run_in_threadpool

from opentrail.clock import Clock, format_time_millis
from opentrail.delivery import outbox, topics
from opentrail.delivery.leases import new_node_id
from opentrail.delivery.outbox import Pending, Schedule
from opentrail.delivery.policies import allows_cloudtrail, allows_service
from opentrail.delivery.sns import Sns
from opentrail.errors import SnsError, StoreError
from opentrail.store import Store

log = logging.getLogger("opentrail.notifications")

T = TypeVar("T")

TIMEOUT_SECONDS = 5.0
MAX_IN_FLIGHT = 16
# SNS calls block: they get threads of their own, so a hanging SNS never takes the API's threads.
SNS_THREADS = 4
# More waiting than this and new notices are dropped (reported as the trail's notification error), so
# a topic that is down for long cannot fill the store: a day of files every 30 s for several trails.
MAX_WAITING = 20_000
MAX_AGE_SECONDS = 86_400.0
MAX_RETRY_DELAY = 300.0
MIN_RETRY_DELAY = 0.1
# How long one attempt may hold a notice (well over an HTTP timeout or two bounded SNS calls); a node
# that dies mid-attempt leaves it to another after this.
CLAIM_SECONDS = 120.0
# The whole outbox is looked at this often (and at start): notices left by a previous run or by another
# node whose claim ran out. This node's own new notices and retries need no look (``Schedule``).
LOOK_SECONDS = 30.0
USER_AGENT = "Amazon Simple Notification Service Agent (OpenTrail)"
# The service principal a topic's policy must let publish an alarm's notices (as CloudWatch's does).
CLOUDWATCH = "cloudwatch.amazonaws.com"
_RETRIED_STATUSES = {408, 429}


@dataclass(frozen=True)
class Notice:
    """One delivered log file to announce; or, with ``message`` set, a message of its own to send (a
    CloudWatch alarm's state change: ``trail_arn`` is then the alarm's ARN, ``subject`` SNS's Subject)."""

    account: str
    trail_arn: str
    topic_arn: str
    bucket: str
    keys: tuple[str, ...]
    subject: str | None = None
    message: str | None = None
    occasion: str = ""


@dataclass(frozen=True)
class Outcome:
    at: float
    error: str | None = None  # None: the topic accepted the notification
    # False when another attempt follows (the error is one of several): only the last outcome is final.
    final: bool = True

    @property
    def succeeded(self) -> bool:
        return self.error is None


def message(bucket: str, keys: tuple[str, ...]) -> str:
    """CloudTrail's message text (the SNS ``Message`` member is this JSON as a string)."""
    return json.dumps({"s3Bucket": bucket, "s3ObjectKey": list(keys)}, separators=(",", ":"))


def envelope(topic: topics.Topic, notice: Notice, message_id: str, timestamp: str) -> dict[str, str]:
    """SNS's HTTP ``Notification`` body (``Subject`` only when the notice has one, as SNS sends it)."""
    body = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic.arn}
    if notice.subject is not None:
        body["Subject"] = notice.subject
    body["Message"] = notice.message if notice.message is not None else message(notice.bucket, notice.keys)
    body["Timestamp"] = timestamp
    return body


def _notice(account: str, pending: Pending) -> Notice:
    return Notice(
        account,
        pending.trail_arn,
        pending.topic_arn,
        pending.bucket,
        tuple(pending.keys),
        subject=pending.subject,
        message=pending.message,
        occasion=pending.occasion,
    )


class Notifier:
    """Sends the outbox's notices from the event loop ``run`` is started on; ``submit`` is called from
    delivery's thread."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        record: Callable[[Notice, Outcome], None],
        retry_delay: float,
        new_id: Callable[[], str],
        *,
        sns: Sns | None = None,
        node: str = "",
        max_age: float = MAX_AGE_SECONDS,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.record = record
        self.new_id = new_id
        self.retry_delay = retry_delay
        self.sns = sns
        self.node = node or new_node_id()
        self.max_age = max_age
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._schedule = Schedule()
        self._next_look = 0.0  # time.monotonic() of the next look at the whole outbox
        self._client: httpx.AsyncClient | None = None
        self._threads: ThreadPoolExecutor | None = None

    def submit(self, notice: Notice) -> None:
        """Keep ``notice`` in the outbox and wake the sender. Blocking (a store write): delivery calls it
        from its thread before moving its cursor, so a ``StoreError`` here makes it deliver the range
        again rather than lose the notice. A notice already waiting is not added twice."""
        now = self.clock.now()
        if len(self._schedule) >= MAX_WAITING:
            error = f"NotificationDropped: {len(self._schedule)} notifications are waiting already"
            log.warning("notification for %s dropped: %s", notice.trail_arn, error)
            with contextlib.suppress(StoreError, KeyError):  # reported where possible, never raised
                self.record(notice, Outcome(at=now, error=error))
            return
        pending = Pending(
            trail_arn=notice.trail_arn,
            topic_arn=notice.topic_arn,
            bucket=notice.bucket,
            keys=list(notice.keys),
            message_id=self.new_id(),
            created=now,
            due=now,
            subject=notice.subject,
            message=notice.message,
            occasion=notice.occasion,
        )
        if outbox.add(self.store, notice.account, pending):
            self.queued(notice.account, outbox.pending_id(pending), now)

    def queued(self, account: str, ident: str, due: float) -> None:
        """A notice another writer kept in the outbox (an alarm's transition, in its own transaction):
        send it from ``due`` without waiting for the next look at the whole outbox. Thread-safe."""
        self._call_soon(self._schedule.put, account, ident, due)

    def _call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn`` on the notifier's loop and wake it; nothing when it is not running (its first look
        at the outbox will find what was added)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(fn, *args)
                loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Send due notices until cancelled; in-flight attempts are cancelled with it (their claims run
        out and the notices are sent again later)."""
        self._wakeup = asyncio.Event()
        self._next_look = 0.0
        self._loop = asyncio.get_running_loop()
        # trust_env off: proxy variables must not divert notifications meant for the topic's URL.
        self._client = httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, trust_env=False)
        self._threads = ThreadPoolExecutor(SNS_THREADS, thread_name_prefix="opentrail-sns")
        try:
            while True:
                pause = await self._sweep()
                # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a cancellation that
                # arrives as the event is set (a finished attempt sets it), and the loop then never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wakeup.wait()
                self._wakeup.clear()
        finally:
            self._loop = None
            for task in list(self._running.values()):
                task.cancel()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            await self._client.aclose()
            # Wait out the SNS calls already in their threads (each bounded by OPENTRAIL_SNS_TIMEOUT):
            # a publish that finished after the notifier stopped would be sent again by the next one.
            await asyncio.to_thread(self._threads.shutdown, wait=True, cancel_futures=True)

    async def _sweep(self) -> float:
        """Start an attempt for each due notice, up to ``MAX_IN_FLIGHT`` at once; seconds until the
        next sweep (a finished attempt or a new notice wakes the loop sooner)."""
        if time.monotonic() >= self._next_look:
            mark = self._schedule.mark()
            try:
                found = await run_in_threadpool(outbox.waiting, self.store)
            except StoreError as err:
                log.warning("notifications not looked at, will retry: %s", err)
                return LOOK_SECONDS
            self._schedule.reload(found, self.node, self._running, mark)
            self._next_look = time.monotonic() + LOOK_SECONDS
        now = self.clock.now()
        while len(self._running) < MAX_IN_FLIGHT:
            taken = self._schedule.take(now)
            if taken is None:
                break
            account, ident = taken
            if ident not in self._running:
                task = asyncio.get_running_loop().create_task(self._attempt(account, ident))
                self._running[ident] = task
                task.add_done_callback(self._done)
        until_look = max(0.0, self._next_look - time.monotonic())
        due = self._schedule.wait(now)
        return max(0.01, until_look if due is None else min(due, until_look))

    def _done(self, task: asyncio.Task[None]) -> None:
        """An attempt ended: its slot is free for the next due notice."""
        for ident, running in list(self._running.items()):
            if running is task:
                del self._running[ident]
        self._wakeup.set()

    async def _attempt(self, account: str, ident: str) -> None:
        """One attempt at one notice: claim it, send it, then finish it or put off the next attempt."""
        try:
            pending = await run_in_threadpool(
                outbox.claim, self.store, account, ident, self.node, self.clock.now(), CLAIM_SECONDS
            )
        except StoreError as err:
            log.warning("notification %s not claimed, will retry: %s", ident, err)
            self._schedule.put(account, ident, self.clock.now() + LOOK_SECONDS)
            return
        if pending is None:  # sent, or claimed by another node: the next look finds which
            self._schedule.forget(ident)
            return
        error, retry = await self._send(pending)
        attempts = pending.attempts + 1
        final = True
        now = self.clock.now()
        delay = max(MIN_RETRY_DELAY, min(self.retry_delay * 2 ** (attempts - 1), MAX_RETRY_DELAY))
        try:
            if error is not None and retry and now + delay - pending.created < self.max_age:
                error = f"{error} (attempt {attempts}; retrying in {delay:g} s)"
                final = False
                await run_in_threadpool(
                    outbox.postpone, self.store, account, ident, self.node, now + delay, attempts
                )
                self._schedule.put(account, ident, now + delay)
            else:
                if error is not None and retry:
                    error = f"{error} (given up after {attempts} attempt{'s' if attempts > 1 else ''})"
                self._schedule.forget(ident)
                await run_in_threadpool(outbox.finish, self.store, account, ident)
        except StoreError as err:  # the claim runs out and the notice is attempted again
            log.warning("notification %s not updated after its attempt: %s", ident, err)
            self._schedule.put(account, ident, now + CLAIM_SECONDS)
        if error is not None:
            log.warning("notification to %s failed: %s", pending.topic_arn, error)
        try:
            outcome = Outcome(at=now, error=error, final=final)
            await run_in_threadpool(self.record, _notice(account, pending), outcome)
        except (StoreError, KeyError) as err:  # the trail is gone, or the store is failing
            log.warning("notification outcome for %s not recorded: %s", pending.trail_arn, err)

    async def _send(self, pending: Pending) -> tuple[str | None, bool]:
        """One attempt to the webhook topic or SNS topic the notice names: (error text or None, whether
        another attempt may succeed)."""
        try:
            topic = await run_in_threadpool(topics.get, self.store, pending.topic_arn)
        except StoreError as err:
            return f"InternalError: cannot read topic {pending.topic_arn}: {err}", True
        # Another account's webhook topic is treated as absent, as CreateTrail treats it (accounts are
        # isolated). The trail's owner counts, not the notice's account: an organization trail announces
        # its members' files to its management account's topic.
        if topic is not None and topic.account == pending.trail_arn.split(":")[4]:
            return await self._post(topic, pending)
        if self.sns is None:
            return f"NotFound: Topic does not exist: {pending.topic_arn}", False
        return await self._blocking(self._publish, self.sns, pending)

    async def _blocking(self, fn: Callable[..., T], *args: object) -> T:
        assert self._threads is not None  # noqa: S101 -- set by run(), which starts every attempt
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    @staticmethod
    def _publish(sns: Sns, pending: Pending) -> tuple[str | None, bool]:
        arn = pending.topic_arn
        try:
            topic = sns.topic(arn)
            if topic is None:
                return f"NotFound: Topic does not exist: {arn}", False
            if pending.message is not None:  # an alarm's notice: published as CloudWatch publishes it
                if not allows_service(topic.policy, arn, pending.trail_arn, CLOUDWATCH):
                    return (
                        f"AuthorizationError: the policy of topic {arn} does not let CloudWatch publish "
                        f"for {pending.trail_arn}",
                        False,
                    )
                sns.publish(arn, pending.message, subject=pending.subject)
                return None, False
            if not allows_cloudtrail(topic.policy, arn, pending.trail_arn):
                return (
                    f"AuthorizationError: the policy of topic {arn} does not let CloudTrail publish "
                    f"for {pending.trail_arn}",
                    False,
                )
            sns.publish(arn, message(pending.bucket, tuple(pending.keys)))
        except SnsError as err:
            return str(err), err.retry
        return None, False

    async def _post(self, topic: topics.Topic, pending: Pending) -> tuple[str | None, bool]:
        """One POST: (error text or None, whether another attempt may succeed)."""
        assert self._client is not None  # noqa: S101 -- set by run(), which starts every attempt
        notice = _notice("", pending)
        timestamp = format_time_millis(self.clock.now())
        body = json.dumps(envelope(topic, notice, pending.message_id, timestamp), indent=2)
        headers = {
            "x-amz-sns-message-type": "Notification",
            "x-amz-sns-message-id": pending.message_id,
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
