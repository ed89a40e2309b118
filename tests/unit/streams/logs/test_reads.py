"""GetLogEvents: newest or oldest first, the time range (end exclusive), f/ and b/ tokens that walk
the stream both ways and come back unchanged at its ends."""

from __future__ import annotations

import re

import pytest

from opentrail.errors import InvalidParameter, ResourceNotFound
from tests.support.calls import Env
from tests.support.logs import NOW_MS, group_with_events, run

T0 = NOW_MS - 1000


@pytest.fixture
def ten(env: Env) -> Env:
    group_with_events(env, "g", "s", [(T0 + i, f"m{i}") for i in range(10)])
    return env


def get(env: Env, **params: object) -> dict[str, object]:
    result: dict[str, object] = run(env, "GetLogEvents", logGroupName="g", logStreamName="s", **params)
    return result


def messages(page: dict[str, object]) -> list[str]:
    return [e["message"] for e in page["events"]]  # type: ignore[attr-defined]


def test_default_is_the_newest_events_oldest_first(ten: Env) -> None:
    page = get(ten, limit=3)
    assert messages(page) == ["m7", "m8", "m9"]
    assert page["events"][0] == {"timestamp": T0 + 7, "message": "m7", "ingestionTime": NOW_MS}  # type: ignore[index]
    assert re.fullmatch(r"f/[0-9]{56}/s", str(page["nextForwardToken"]))
    assert re.fullmatch(r"b/[0-9]{56}/s", str(page["nextBackwardToken"]))


def test_walk_backward_to_the_start_then_forward_to_the_end(ten: Env) -> None:
    page, seen = get(ten, limit=4), []
    while messages(page):
        seen = messages(page) + seen
        token = page["nextBackwardToken"]
        page = get(ten, limit=4, nextToken=token)
    assert seen == [f"m{i}" for i in range(10)]
    assert page["nextBackwardToken"] == token  # the same token once nothing is left
    page, seen = get(ten, limit=4, startFromHead=True), []
    while messages(page):
        seen += messages(page)
        token = page["nextForwardToken"]
        page = get(ten, limit=4, nextToken=token)
    assert seen == [f"m{i}" for i in range(10)]
    assert page["nextForwardToken"] == token


def test_time_range_start_inclusive_end_exclusive(ten: Env) -> None:
    assert messages(get(ten, startTime=T0 + 2, endTime=T0 + 5, startFromHead=True)) == ["m2", "m3", "m4"]
    assert messages(get(ten, startTime=T0 + 2, endTime=T0 + 5)) == ["m2", "m3", "m4"]


def test_new_events_appear_after_the_forward_token(ten: Env) -> None:
    token = get(ten)["nextForwardToken"]
    assert messages(get(ten, nextToken=token)) == []
    run(
        ten,
        "PutLogEvents",
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": NOW_MS, "message": "new"}],
    )
    assert messages(get(ten, nextToken=token)) == ["new"]


def test_errors(ten: Env) -> None:
    with pytest.raises(InvalidParameter, match="nextToken"):
        get(ten, nextToken="f/123/s")
    with pytest.raises(InvalidParameter, match="nextToken"):
        get(ten, nextToken="f/" + "9" * 56 + "/s")
    with pytest.raises(ResourceNotFound, match="log stream does not exist"):
        run(ten, "GetLogEvents", logGroupName="g", logStreamName="nope")
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(ten, "GetLogEvents", logGroupName="nope", logStreamName="s")
    with pytest.raises(InvalidParameter, match="less than or equal to 10000"):
        get(ten, limit=10_001)
