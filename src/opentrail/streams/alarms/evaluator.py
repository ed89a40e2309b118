"""The evaluator: the worker that evaluates every alarm each second and records its transitions.

Each pass reads the alarms this node evaluates, the samples of each one's metric over its evaluation
range (closed periods only: ``evaluation.evaluation_range``), and evaluates them
(``evaluation.evaluate``). A verdict that changes the alarm's state is written as one compare-and-set
of the alarm (``store.alarms.replace``) with its StateUpdate history item and the outbox notices of its
actions; then the notifier is told (``queued``), so the notices leave at once rather than at its next
look at the outbox. A SetAlarmState holds until the next period boundary (``HoldUntil``). History
older than CloudWatch's 30 days is removed about once an hour.

Several nodes on one PostgreSQL: each alarm is evaluated by the node holding its lease
(``store.alarms.lease``, renewed every pass; a dead node's alarms move after ``lease_seconds``). A node
killed mid-evaluation has written nothing (the transition and its notices are one transaction), so the
next evaluation makes the same transition; one that lost its lease or raced another writer finds the
alarm's version moved and writes nothing, so no transition is recorded or announced twice.

Samples come from ``store.metrics.samples`` unless another source is given (``SamplesSource``). So
that a pass stays cheap with many alarms and long periods, an alarm is evaluated every pass only in the
first seconds after one of its periods closes (``SETTLE_SECONDS``), and otherwise about once a minute,
or at once when its configuration changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from opentrail.clock import Clock
from opentrail.context import Services
from opentrail.delivery.leases import new_node_id
from opentrail.errors import StoreError
from opentrail.store import Store
from opentrail.store.alarms import StoredAlarm
from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.alarms import history, model
from opentrail.streams.alarms.evaluation import evaluate, evaluation_range
from opentrail.streams.alarms.rule import Datapoint
from opentrail.streams.metrics.statistics import aggregate

__all__ = ["Evaluator", "SamplesSource", "run_evaluator"]

log = logging.getLogger("opentrail.alarms")

# A metric's samples in [start, end) seconds, oldest first.
SamplesSource = Callable[[MetricKey, int, int], list[Sample]]
# Told of each notice a transition queued: (account, outbox id, due time).
Queued = Callable[[str, str, float], None]
TICK_SECONDS = 1.0
# Into each second the pass starts: samples of the second just ended have had this long to arrive.
TICK_OFFSET = 0.05
# After a period closes, its alarm is evaluated every pass for this long (the period's last samples
# may still be on their way); then again at most once a minute (or once a period, if shorter), for
# samples put late with past timestamps, until the next period closes.
SETTLE_SECONDS = 5.0
REVISIT_SECONDS = 60.0
# CloudWatch keeps alarm history for 30 days; older items are removed about once an hour.
HISTORY_DAYS = 30
PURGE_SECONDS = 3600.0


def stored_samples(store: Store) -> SamplesSource:
    """The store's one-second samples of a metric."""
    return store.metrics.samples


class Evaluator:
    """Evaluates the alarms this node holds; ``run_once`` is blocking (the loop runs it in a thread)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        new_id: Callable[[], str],
        *,
        samples: SamplesSource | None = None,
        queued: Queued | None = None,
        node: str = "",
        lease_seconds: float = 15.0,
        shared: bool | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.new_id = new_id
        self.samples = samples or stored_samples(store)
        self.queued = queued
        self.node = node or new_node_id()
        self.lease_seconds = lease_seconds
        self.shared = store.shared if shared is None else shared
        # (account, region, name, version) -> when this node last evaluated that version of the alarm.
        self._evaluated: dict[tuple[str, str, str, int], float] = {}

    def run_once(self) -> int:
        """One pass over the alarms this node evaluates; the number of transitions it recorded."""
        now = self.clock.now()
        if self.shared:
            alarms = self.store.alarms.lease(self.node, now, self.lease_seconds)
        else:
            alarms = self.store.alarms.every()
        changed = 0
        seen: dict[tuple[str, str, str, int], float] = {}
        for alarm in alarms:
            ident = (alarm.account, alarm.region, alarm.name, alarm.version)
            last = self._evaluated.get(ident)
            if last is not None and not self._due(alarm, last, now):
                seen[ident] = last
                continue
            try:
                changed += self.evaluate(alarm, now)
                seen[ident] = now
            except StoreError as err:
                log.warning("alarm %s not evaluated, will retry: %s", alarm.name, err)
            except Exception:
                # One alarm's unforeseen failure must not hold up the others' evaluation; it is tried
                # again when it is next due (nothing was written for it).
                log.exception("alarm %s could not be evaluated", alarm.name)
                seen[ident] = now
        self._evaluated = seen
        return changed

    def purge(self) -> int:
        """Remove history items past CloudWatch's retention; how many were removed."""
        return self.store.alarms.purge_history(self.clock.now() - HISTORY_DAYS * 86_400)

    @staticmethod
    def _due(alarm: StoredAlarm, last: float, now: float) -> bool:
        step = model.period(alarm.body)
        closed = math.floor(now / step) * step  # when the newest closed period ended
        return last < closed or now - closed <= SETTLE_SECONDS or now - last >= min(step, REVISIT_SECONDS)

    def datapoints(self, alarm: StoredAlarm, now: float) -> list[Datapoint]:
        rule = model.rule(alarm.body)
        start, end = evaluation_range(now, rule.period, rule.evaluation_periods)
        key = model.metric_key(alarm.body, alarm.account, alarm.region)
        samples = self.samples(key, start, end)
        if rule.unit is not None:
            samples = [s for s in samples if s.unit == rule.unit]
        counts = dict(aggregate(samples, start, end, rule.period, "SampleCount"))
        values = aggregate(samples, start, end, rule.period, rule.statistic)
        return [Datapoint(at, value, counts.get(at, 0.0)) for at, value in values]

    def evaluate(self, alarm: StoredAlarm, now: float) -> bool:
        """Evaluate one alarm at ``now``; True when it changed state (and this node recorded it)."""
        body = alarm.body
        if float(body.get("HoldUntil", 0.0)) > now:
            return False
        verdict = evaluate(model.rule(body), self.datapoints(alarm, now), now)
        if verdict is None or verdict.state == body["StateValue"]:
            return False
        data = json.dumps(verdict.data, separators=(",", ":"))
        account, region = alarm.account, alarm.region
        new, rows, docs = history.transition(
            body, account, region, verdict.state, verdict.reason, data, model.moment(now), self.new_id
        )
        new.pop("HoldUntil", None)
        if not self.store.alarms.replace(alarm, new, rows, docs):
            return False  # changed by another writer meanwhile: the next pass sees its version
        if self.queued is not None:
            for doc in docs:
                self.queued(doc.account, doc.arn, now)
        return True


async def run_evaluator(
    services: Services, queued: Queued | None = None, samples: SamplesSource | None = None
) -> None:
    """The evaluator's loop: a pass just after each second begins, blocking work in a thread."""
    settings = services.settings
    evaluator = Evaluator(
        services.store,
        services.clock,
        services.new_id,
        samples=samples,
        queued=queued,
        node=settings.node_id,
        lease_seconds=settings.lease_seconds,
    )
    next_purge = 0.0
    while True:
        try:
            if time.monotonic() >= next_purge:
                await run_in_threadpool(evaluator.purge)
                next_purge = time.monotonic() + PURGE_SECONDS
            await run_in_threadpool(evaluator.run_once)
        except StoreError as err:
            log.warning("alarm evaluation failed, will retry: %s", err)
        except Exception:
            # The worker's boundary: an unforeseen failure in one pass must not end evaluation for good;
            # nothing was written for the alarm that failed, so the next pass evaluates it again.
            log.exception("alarm evaluation failed unexpectedly, will retry")
        wall = time.time()
        await asyncio.sleep(math.floor(wall) + TICK_SECONDS + TICK_OFFSET - wall)
