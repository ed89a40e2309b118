"""The log-group delivery worker: for each trail that names a log group (``CloudWatchLogsLogGroupArn``),
the events it selects, after its cursor, become log events of that group, one per event, in order.

It follows trail delivery's states (``delivery/state.py``): which (trail, account) pairs deliver, where
logging started (a restart moves the cursor to trail delivery's, as CloudTrail streams nothing of the
time a trail was stopped) and where it stopped (``until``, kept here so streaming finishes its range
even after trail delivery finished its own). It reads the log with the same lean forward read and the
same ``Picker`` as trail delivery, so the log group receives exactly the events the trail's log files
hold. A pass runs every quarter of a second, so an acknowledged event reaches its log group within
about a second.

Each event's log stream is CloudTrail's: ``<account>_CloudTrail_<region>`` (an organization trail's,
``<o-id>_<account>_CloudTrail_<region>``); the log event's timestamp is the event's eventTime and its
message the record as stored. Log events carry the event's sequence as their source id, so a range
streamed again after a crash (or by a second node) adds nothing: exactly once. A missing log group is
an error GetTrailStatus reports (``LatestCloudWatchLogsDeliveryError``), retried with a backoff while
the events wait in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from opentrail.clock import Clock
from opentrail.context import Services
from opentrail.delivery import state as delivery_state
from opentrail.delivery.leases import LeaseLost, Leases, node_id
from opentrail.errors import ConflictError, StoreError
from opentrail.selectors import picker
from opentrail.store import Doc, LogRow, Store
from opentrail.streams.delivery import state as streaming
from opentrail.streams.delivery.remote import ForwardingError, RemoteLogs
from opentrail.trails import model as trails

log = logging.getLogger("opentrail.streams")

TICK_SECONDS = 0.25
READ_CHUNK = 10_000
MAX_BACKOFF_SECONDS = 60.0
# A trail that started logging this recently is streamed from where it started (see ``_start_of``).
RECENT_START_SECONDS = 300.0
# GetTrailStatus's text for a log group that is not there (CloudWatch Logs' own message).
NO_GROUP = "ResourceNotFoundException: The specified log group does not exist."

Batch = dict[str, list[tuple[int, str, str]]]  # log stream -> (timestamp ms, message, source id)


def log_group_of(arn: str) -> tuple[str, str, str]:
    """(account, region, name) of ``arn:aws:logs:<region>:<account>:log-group:<name>[:*]``."""
    parts = arn.split(":", 6)
    name = parts[6]
    return parts[4], parts[3], name[:-2] if name.endswith(":*") else name


def stream_name(trail: trails.Trail, account: str, region: str) -> str:
    """CloudTrail's log stream for an account's events of a region."""
    prefix = f"{trail.organization_id}_" if trail.is_organization_trail and trail.organization_id else ""
    return f"{prefix}{account}_CloudTrail_{region}"


@dataclass
class LogGroupDelivery:
    store: Store
    clock: Clock
    leases: Leases
    # Forwarding to a remote CloudWatch Logs as well (OPENTRAIL_FORWARD_LOGS_URL), or None.
    remote: RemoteLogs | None = None
    # When each state may next be tried after a failure of the remote, by (account, ARN).
    _remote_retry: dict[tuple[str, str], float] = field(default_factory=dict)

    def run_once(self) -> None:
        """One pass: create the states new trails need, then stream each state this node holds."""
        high = self.store.high_sequence()
        sources = {(d.account, d.arn): d for d in self.store.list_docs(delivery_state.KIND)}
        mine = {(d.account, d.arn): d for d in self.store.list_docs(streaming.KIND)}
        for key, source in sources.items():
            if key not in mine:
                self._create(source)
        for doc in self.leases.plan(self.store.list_docs(streaming.KIND)):
            try:
                self._pass(doc, sources.get((doc.account, doc.arn)), high)
            except (StoreError, KeyError) as err:
                log.warning("log group delivery of %s deferred: %s", doc.arn, err)
            except LeaseLost as err:
                log.info("log group delivery of %s left to another node: %s", doc.arn, err)
            except Exception:
                # One trail's failure must not hold up the others' (its cursor did not move).
                log.exception("log group delivery of %s failed unexpectedly, will retry", doc.arn)

    def _create(self, source: Doc) -> None:
        delivery = delivery_state.load_state(source)
        trail = msgspec.convert(delivery.trail, trails.Trail)
        if not trail.cloud_watch_logs_log_group_arn:
            return
        cursor = _start_of(delivery, self.clock.now())
        body = msgspec.to_builtins(
            streaming.StreamState(
                trail=delivery.trail, cursor=cursor, remote_cursor=cursor, started=delivery.started
            )
        )
        with contextlib.suppress(ConflictError):
            self.store.insert_doc(
                Doc(streaming.KIND, source.account, source.region, source.name, source.arn, body)
            )

    def _pass(self, doc: Doc, source: Doc | None, high: int) -> None:
        read = streaming.load(doc)
        state = streaming.load(doc)
        if source is None:
            if state.until is None or state.cursor >= state.until:
                self.store.delete_doc(streaming.KIND, doc.account, doc.arn)  # the trail is gone
                return
        else:
            self._follow(state, delivery_state.load_state(source), doc)
        self._resume(state)
        trail = msgspec.convert(state.trail, trails.Trail)
        member = None if doc.account == picker.account_of(trail) else doc.account
        bound = self._bound(state, trail, high)
        if bound is None or not trail.cloud_watch_logs_log_group_arn:
            if msgspec.to_builtins(state) != msgspec.to_builtins(read):
                streaming.save(self.store, doc, read, state)
            return
        if self.clock.now() >= state.retry_at:
            self._stream_local(state, trail, member, bound)
        if self.remote is not None:
            self._stream_remote(doc, state, trail, member, bound)
        else:
            state.remote_cursor = state.cursor  # nothing to forward to: forwarding starts from now
        if msgspec.to_builtins(state) != msgspec.to_builtins(read):
            streaming.save(self.store, doc, read, state)

    def _follow(self, state: streaming.StreamState, delivery: delivery_state.State, doc: Doc) -> None:
        """Take in what trail delivery knows: the trail, a restart of logging, a stop."""
        live = self.store.get_doc(trails.KIND, doc.arn.split(":")[4], doc.arn)
        state.trail = live.body if live is not None and not delivery.deleted else delivery.trail
        if delivery.started != state.started:
            state.started = delivery.started
            if delivery.resume is not None:
                # Restarted before trail delivery finished the stop: finish the stopped range, then
                # jump to where logging restarted (``_resume``).
                state.resume = delivery.resume
            else:
                start = _start_of(delivery, self.clock.now())
                state.cursor = max(state.cursor, start)
                state.remote_cursor = max(state.remote_cursor, start)
                state.until = state.resume = None
        if delivery.until is not None and delivery.resume is None:
            state.until = max(state.until or 0, delivery.until)

    def _resume(self, state: streaming.StreamState) -> None:
        """The stopped range is streamed (and forwarded): carry on from where logging restarted."""
        if state.until is None or state.resume is None or state.cursor < state.until:
            return
        if self.remote is not None and state.remote_cursor < state.until:
            return
        state.cursor = max(state.cursor, state.resume)
        state.remote_cursor = max(state.remote_cursor, state.resume)
        state.until = state.resume = None

    @staticmethod
    def _bound(state: streaming.StreamState, trail: trails.Trail, high: int) -> int | None:
        """Stream up to here this pass, or None: nothing to stream (stopped, and its range finished)."""
        if state.until is not None:
            return min(state.until, high)
        return high if trail.is_logging else None

    # -- to the log group in the store -------------------------------------------------------------

    def _stream_local(
        self, state: streaming.StreamState, trail: trails.Trail, member: str | None, bound: int
    ) -> None:
        group = log_group_of(trail.cloud_watch_logs_log_group_arn or "")
        while state.cursor < bound:
            last, batch = self._read(trail, member, state.cursor, bound)
            try:
                stored = sum(self._append(group, name, events) for name, events in batch.items())
            except KeyError:
                self._failed(state, NO_GROUP)
                return
            state.cursor = last
            state.failures, state.retry_at = 0, 0.0
            state.status.pop("LatestCloudWatchLogsDeliveryError", None)
            if stored or batch:
                state.status["LatestCloudWatchLogsDeliveryTime"] = round(self.clock.now(), 3)

    def _append(self, group: tuple[str, str, str], stream: str, events: list[tuple[int, str, str]]) -> int:
        account, region, name = group
        return self.store.logs.append(
            account,
            region,
            name,
            stream,
            [(t, message) for t, message, _ in events],
            source_ids=[ident for _, _, ident in events],
            create_stream=True,
        )

    def _failed(self, state: streaming.StreamState, error: str) -> None:
        state.status["LatestCloudWatchLogsDeliveryError"] = error
        state.failures += 1
        backoff = min(TICK_SECONDS * 4 * 2 ** (state.failures - 1), MAX_BACKOFF_SECONDS)
        state.retry_at = self.clock.now() + backoff

    def _read(self, trail: trails.Trail, member: str | None, after: int, bound: int) -> tuple[int, Batch]:
        """The next stretch of the log after ``after``: where it ended, and the trail's events of it by
        log stream, in order."""
        account, region = picker.log_of(trail, member)
        part = self.store.read_log(account, after, READ_CHUNK, bound, region)
        wanted = picker.Picker(trail)
        batch: Batch = {}
        for row in part.rows:
            if wanted(row):
                name = stream_name(trail, account, part.regions[row[1]])
                batch.setdefault(name, []).append(_event(row))
        return part.last, batch

    # -- to a remote CloudWatch Logs ----------------------------------------------------------------

    def _stream_remote(
        self, doc: Doc, state: streaming.StreamState, trail: trails.Trail, member: str | None, bound: int
    ) -> None:
        assert self.remote is not None  # noqa: S101 - only called with a remote
        key = (doc.account, doc.arn)
        if self.clock.now() < self._remote_retry.get(key, 0.0):
            return
        _, region, name = log_group_of(trail.cloud_watch_logs_log_group_arn or "")
        while state.remote_cursor < min(bound, state.cursor):
            last, batch = self._read(trail, member, state.remote_cursor, min(bound, state.cursor))
            try:
                for stream, events in batch.items():
                    self.remote.put(region, name, stream, [(t, message) for t, message, _ in events])
            except ForwardingError as err:
                log.warning("forwarding %s to the remote CloudWatch Logs failed: %s", doc.arn, err)
                self._remote_retry[key] = self.clock.now() + MAX_BACKOFF_SECONDS / 4
                return
            state.remote_cursor = last


def _start_of(delivery: delivery_state.State, now: float) -> int:
    """Where streaming starts for a trail delivery state it has not followed before: where logging
    started, when that was recent (so the events of the moments before this worker's first look are
    not skipped); else where trail delivery stands (a log group added to a trail logging for long
    receives its events from now on, as CloudTrail's does)."""
    if delivery.origin and now - (delivery.started or 0.0) < RECENT_START_SECONDS:
        return delivery.origin
    return delivery.cursor if delivery.batch is None else delivery.batch.first - 1


def _event(row: LogRow) -> tuple[int, str, str]:
    return row[5], row[6].decode("utf-8", "replace"), str(row[0])


# -- GetTrailStatus and the loop --------------------------------------------------------------------


def status_source(store: Store) -> Callable[[str, str], dict[str, Any]]:
    """GetTrailStatus's CloudWatch Logs members of a trail (its own account's state)."""

    def status(account: str, arn: str) -> dict[str, Any]:
        doc = store.get_doc(streaming.KIND, account, arn)
        return {} if doc is None else dict(streaming.load(doc).status)

    return status


def worker(services: Services) -> LogGroupDelivery:
    settings = services.settings
    node = node_id(settings.node_id)
    leases = Leases(services.store, services.clock, node, settings.lease_seconds, services.store.shared)
    remote = RemoteLogs.from_settings(settings) if settings.forward_logs_url else None
    return LogGroupDelivery(services.store, services.clock, leases, remote)


async def run_worker(services: Services) -> None:
    """Stream every tick, blocking work in a thread."""
    streamer = worker(services)
    while True:
        try:
            await run_in_threadpool(streamer.run_once)
        except StoreError as err:
            log.warning("log group delivery pass failed, will retry: %s", err)
        except Exception:
            log.exception("log group delivery pass failed unexpectedly, will retry")
        await asyncio.sleep(TICK_SECONDS)
