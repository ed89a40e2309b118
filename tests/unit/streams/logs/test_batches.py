"""PutLogEvents' batch rules: the shape refused whole (count, bytes, order, span), events rejected for
their time reported by index while the rest are stored, and the sequence token ignored."""

from __future__ import annotations

import pytest

from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.streams.logs.batches import DAY_MS, HOUR_MS, MAX_BATCH_BYTES, split
from tests.support.calls import Env
from tests.support.logs import NOW_MS, put, run

NOW = NOW_MS


@pytest.fixture
def stream(env: Env) -> Env:
    run(env, "CreateLogGroup", logGroupName="g")
    run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    return env


def stored(env: Env) -> list[str]:
    return [e["message"] for e in run(env, "GetLogEvents", logGroupName="g", logStreamName="s")["events"]]


def test_a_batch_is_stored_in_order_and_answers_a_sequence_token(stream: Env) -> None:
    result = put(stream, "g", "s", [(NOW - 2, "a"), (NOW - 2, "b"), (NOW, "c")], sequenceToken="ignored")
    assert set(result) == {"nextSequenceToken"}
    assert stored(stream) == ["a", "b", "c"]
    again = put(stream, "g", "s", [(NOW, "d")], sequenceToken="anything-at-all")
    assert again["nextSequenceToken"] > result["nextSequenceToken"]


def test_events_out_of_their_time_are_rejected_by_index_the_rest_stored(stream: Env) -> None:
    events = [
        (NOW - 15 * DAY_MS, "too old"),
        (NOW - 14 * DAY_MS - 1, "too old too"),
        (NOW - HOUR_MS, "kept"),
        (NOW + 2 * HOUR_MS, "kept at the bound"),
        (NOW + 2 * HOUR_MS + 1, "too new"),
    ]
    result = put(stream, "g", "s", events)
    assert result["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4}
    assert stored(stream) == ["kept", "kept at the bound"]


def test_events_past_the_groups_retention_are_expired(stream: Env) -> None:
    run(stream, "PutRetentionPolicy", logGroupName="g", retentionInDays=1)
    result = put(stream, "g", "s", [(NOW - 2 * DAY_MS, "expired"), (NOW, "kept")])
    assert result["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    assert stored(stream) == ["kept"]


def test_split_keeps_the_middle_of_a_batch() -> None:
    kept = split([(NOW - 15 * DAY_MS, "x"), (NOW, "y"), (NOW + 3 * HOUR_MS, "z")], NOW, None)
    assert (kept.start, kept.end) == (1, 2)
    everything_old = split([(0, "x"), (1, "y")], NOW, 30)
    assert (everything_old.start, everything_old.end) == (2, 2)
    assert everything_old.rejected == {"tooOldLogEventEndIndex": 2, "expiredLogEventEndIndex": 2}


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([(NOW, "b"), (NOW - 1, "a")], "must be in chronological order"),
        ([(NOW - DAY_MS - 1, "a"), (NOW, "b")], "cannot span more than 24 hours"),
        ([(NOW, "x" * (MAX_BATCH_BYTES - 26 + 1))], "Upload too large"),
        ([(NOW, "")], "greater than or equal to 1"),
        ([(-1, "x")], "greater than or equal to 0"),
        ([], "between 1 and 10000"),
        ([(NOW, "x")] * 10_001, "between 1 and 10000"),
    ],
)
def test_a_batch_that_breaks_a_rule_is_refused_whole(
    stream: Env, events: list[tuple[int, str]], message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        put(stream, "g", "s", events)
    assert stored(stream) == []


def test_the_byte_limit_counts_utf8_and_26_per_event(stream: Env) -> None:
    fits = [(NOW, "é" * ((MAX_BATCH_BYTES // 2 - 26) // 2))] * 2
    put(stream, "g", "s", fits)
    assert len(stored(stream)) == 2


def test_missing_group_or_stream(stream: Env) -> None:
    with pytest.raises(ResourceNotFound, match="log stream does not exist"):
        put(stream, "g", "nope", [(NOW, "x")])
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        put(stream, "nope", "s", [(NOW, "x")])
