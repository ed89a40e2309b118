"""The evaluator (``streams/alarms/evaluator.py``) on a real SQLite store with a clock the test moves:
transitions only when a period closes, one StateUpdate item and one outbox notice per transition and
topic, the look-back over missing data, SetAlarmState held until the next evaluation, and no duplicate
when two evaluators race or one dies mid-evaluation.

The metric's samples come from a list through the evaluator's ``samples`` source (the metrics part's
store is a collaborator here, not the code under test)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.store.metrics import MetricKey, Sample
from opentrail.streams.alarms.evaluator import Evaluator
from opentrail.streams.alarms.operations import OPERATIONS
from tests.support.calls import Env
from tests.unit.streams.alarms.conftest import T


class Samples:
    """Samples of one metric, as ``store.metrics.samples`` answers: the seconds in [start, end)."""

    def __init__(self) -> None:
        self.points: list[tuple[MetricKey, Sample]] = []
        self.asked: list[tuple[MetricKey, int, int]] = []

    def put(self, key: MetricKey, second: float, value: float) -> None:
        self.points.append((key, Sample(int(second), 1.0, value, value, value, "Count")))

    def __call__(self, key: MetricKey, start: int, end: int) -> list[Sample]:
        self.asked.append((key, start, end))
        return [s for k, s in self.points if k == key and start <= s.second < end]


def put_alarm(env: Env, account: str, **changes: Any) -> None:
    params: dict[str, Any] = {
        "AlarmName": "errors",
        "MetricName": "Errors",
        "Namespace": "App",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "AlarmActions": [f"arn:aws:sns:us-east-1:{account}:ops"],
        "OKActions": [f"arn:aws:sns:us-east-1:{account}:ops", f"arn:aws:sns:us-east-1:{account}:audit"],
    }
    params.update(changes)
    OPERATIONS["PutMetricAlarm"](env.call(account), params)


def state(env: Env, account: str) -> str:
    (found,) = OPERATIONS["DescribeAlarms"](env.call(account), {})["MetricAlarms"]
    return str(found["StateValue"])


def updates(env: Env, account: str) -> list[str]:
    found = OPERATIONS["DescribeAlarmHistory"](env.call(account), {"HistoryItemType": "StateUpdate"})
    return [i["HistorySummary"] for i in reversed(found["AlarmHistoryItems"])]


@pytest.fixture
def samples() -> Samples:
    return Samples()


def evaluator(
    env: Env, samples: Samples, queued: list[tuple[str, str, float]] | None = None, **kw: Any
) -> Evaluator:
    record = None if queued is None else (lambda account, ident, due: queued.append((account, ident, due)))
    ids = iter(range(1, 1000))
    return Evaluator(
        env.store, env.services.clock, lambda: f"msg-{next(ids)}", samples=samples, queued=record, **kw
    )


def key(account: str) -> MetricKey:
    return MetricKey(account, "us-east-1", "App", "Errors")


def test_a_breach_is_an_alarm_once_its_period_closes(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    queued: list[tuple[str, str, float]] = []
    worker = evaluator(env, samples, queued, shared=False)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 59.9
    assert worker.run_once() == 0  # the period is still open
    assert state(env, account) == "INSUFFICIENT_DATA"
    clock.value = T + 60.05
    assert worker.run_once() == 1
    assert state(env, account) == "ALARM"
    assert samples.asked[-1] == (key(account), T - 120, T + 60)
    (notice,) = env.store.list_docs("notice", account)
    assert queued == [(account, notice.arn, T + 60.05)]
    message = json.loads(notice.body["message"])
    assert (message["OldStateValue"], message["NewStateValue"]) == ("INSUFFICIENT_DATA", "ALARM")
    assert message["NewStateReason"] == (
        "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (12/07/26 10:00:00)] was greater than or "
        "equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    # Every further pass finds the same state: no second transition, no second notice.
    clock.advance(1)
    assert worker.run_once() == 0
    assert len(env.store.list_docs("notice", account)) == 1
    assert updates(env, account) == ["Alarm updated from INSUFFICIENT_DATA to ALARM"]


def test_the_reason_data_is_kept_with_the_state(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.5
    evaluator(env, samples, shared=False).run_once()
    (found,) = OPERATIONS["DescribeAlarms"](env.call(account), {})["MetricAlarms"]
    assert json.loads(found["StateReasonData"]) == {
        "version": "1.0",
        "queryDate": "2026-07-12T10:01:00.500+0000",
        "startDate": "2026-07-12T09:58:00.000+0000",
        "statistic": "Sum",
        "period": 60,
        "recentDatapoints": [3.0],
        "threshold": 1.0,
        "evaluatedDatapoints": [
            {"timestamp": "2026-07-12T10:00:00.000+0000", "sampleCount": 1.0, "value": 3.0}
        ],
    }
    assert (found["StateUpdatedTimestamp"], found["StateTransitionedTimestamp"]) == (T + 60.5, T + 60.5)


def test_missing_data_looks_back_then_goes_insufficient(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    worker = evaluator(env, samples, shared=False)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.5
    worker.run_once()
    # Later periods have no data: the breaching datapoint is still in the evaluation range (3 periods).
    for at in (T + 120.5, T + 180.5):
        clock.value = at
        assert worker.run_once() == 0
    clock.value = T + 240.5
    assert worker.run_once() == 1
    assert state(env, account) == "INSUFFICIENT_DATA"
    # INSUFFICIENT_DATA has no actions here: only the ALARM's notice is queued.
    assert len(env.store.list_docs("notice", account)) == 1


def test_ok_notifies_each_ok_topic_once(env: Env, account: str, clock: FixedClock, samples: Samples) -> None:
    put_alarm(env, account)
    worker = evaluator(env, samples, shared=False)
    samples.put(key(account), T + 10, 0.0)
    clock.value = T + 60.5
    worker.run_once()
    assert state(env, account) == "OK"
    topics = sorted(d.body["topic_arn"] for d in env.store.list_docs("notice", account))
    assert topics == [f"arn:aws:sns:us-east-1:{account}:audit", f"arn:aws:sns:us-east-1:{account}:ops"]


def test_set_alarm_state_holds_until_the_next_evaluation(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    worker = evaluator(env, samples, shared=False)
    samples.put(key(account), T + 10, 0.0)
    clock.value = T + 60.5
    worker.run_once()
    clock.value = T + 70
    OPERATIONS["SetAlarmState"](
        env.call(account), {"AlarmName": "errors", "StateValue": "ALARM", "StateReason": "drill"}
    )
    clock.value = T + 119.9
    assert worker.run_once() == 0
    assert state(env, account) == "ALARM"
    clock.value = T + 120.1  # the next period boundary: evaluated again, back to OK
    assert worker.run_once() == 1
    assert state(env, account) == "OK"
    assert updates(env, account) == [
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]


def test_two_nodes_on_one_store_make_one_transition(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.5
    first = evaluator(env, samples, node="node-1", shared=True)
    second = evaluator(env, samples, node="node-2", shared=True)
    assert first.run_once() + second.run_once() == 1
    assert second.run_once() == 0  # node-1 holds the alarm's lease
    assert len(env.store.list_docs("notice", account)) == 1


def test_a_stale_evaluation_writes_nothing(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    """Two nodes that read the same version (one paused past its lease): the later write is refused."""
    put_alarm(env, account)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.5
    stale = env.store.alarms.get(account, "us-east-1", "errors")
    assert stale is not None
    worker = evaluator(env, samples, shared=False)
    assert worker.run_once() == 1
    assert worker.evaluate(stale, T + 60.5) is False
    assert len(env.store.list_docs("notice", account)) == 1
    assert updates(env, account) == ["Alarm updated from INSUFFICIENT_DATA to ALARM"]


def test_a_node_killed_mid_evaluation_loses_no_transition(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.5

    def dies(key: MetricKey, start: int, end: int) -> list[Sample]:
        raise SystemExit("killed while reading the metric")

    doomed = evaluator(env, dies, node="node-1", shared=True, lease_seconds=15.0)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        doomed.run_once()
    assert state(env, account) == "INSUFFICIENT_DATA"
    assert env.store.list_docs("notice", account) == []
    survivor = evaluator(env, samples, node="node-2", shared=True)
    assert survivor.run_once() == 0  # node-1's lease has not run out yet
    clock.advance(15)
    assert survivor.run_once() == 1
    assert state(env, account) == "ALARM"
    assert len(env.store.list_docs("notice", account)) == 1


def test_the_alarm_unit_selects_samples(env: Env, account: str, clock: FixedClock, samples: Samples) -> None:
    put_alarm(env, account, Unit="Seconds")
    samples.put(key(account), T + 10, 3.0)  # in Count: not this alarm's
    clock.value = T + 60.5
    evaluator(env, samples, shared=False).run_once()
    assert state(env, account) == "INSUFFICIENT_DATA"


def test_an_alarm_is_looked_at_often_only_just_after_its_period_closes(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account, Period=300)
    worker = evaluator(env, samples, shared=False)

    def looks(*times: float) -> int:
        before = len(samples.asked)
        for at in times:
            clock.value = at
            worker.run_once()
        return len(samples.asked) - before

    assert looks(T + 300.1, T + 301.1, T + 304.9) == 3  # the settling seconds: every pass
    assert looks(T + 306.1, T + 320.1, T + 364.0) == 0  # then not before a minute has passed
    assert looks(T + 366.0) == 1
    assert looks(T + 600.1) == 1  # the next period closed
    put_alarm(env, account, Period=300, Threshold=7.0)
    assert looks(T + 620.0) == 1  # a changed alarm is looked at again at once


def test_history_older_than_thirty_days_is_removed(
    env: Env, account: str, clock: FixedClock, samples: Samples
) -> None:
    put_alarm(env, account)
    worker = evaluator(env, samples, shared=False)
    clock.advance(30 * 86_400)
    assert worker.purge() == 0  # the creation is exactly 30 days old: kept
    clock.advance(1)
    assert worker.purge() == 1
    assert OPERATIONS["DescribeAlarmHistory"](env.call(account), {})["AlarmHistoryItems"] == []


def test_one_alarm_that_cannot_be_evaluated_holds_up_no_other(
    env: Env, account: str, clock: FixedClock, samples: Samples, caplog: pytest.LogCaptureFixture
) -> None:
    put_alarm(env, account, AlarmName="broken")
    put_alarm(env, account)
    # A body no check lets through any more (an infinite threshold was once kept as null).
    env.store.alarms.change(
        account, "us-east-1", "broken", lambda body, _: ({**(body or {}), "Threshold": None}, [], [])
    )
    samples.put(key(account), T + 10, 3.0)
    clock.value = T + 60.05
    assert evaluator(env, samples, shared=False).run_once() == 1
    (found,) = OPERATIONS["DescribeAlarms"](env.call(account), {"AlarmNames": ["errors"]})["MetricAlarms"]
    assert found["StateValue"] == "ALARM"
    assert "alarm broken could not be evaluated" in caplog.text
