"""FilterLogEvents: a group's streams interleaved by time, filtered by pattern, stream names or a
prefix and an inclusive time range, paged with sealed tokens."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.errors import InvalidFilterPattern, InvalidParameter, ResourceNotFound
from tests.support.calls import Env
from tests.support.logs import ACCOUNT, NOW_MS, put, run

T0 = NOW_MS - 10_000


@pytest.fixture
def group(env: Env) -> Env:
    run(env, "CreateLogGroup", logGroupName="g")
    for stream in ("app-1", "app-2", "web"):
        run(env, "CreateLogStream", logGroupName="g", logStreamName=stream)
    put(env, "g", "app-1", [(T0 + 1, "ERROR one"), (T0 + 4, '{"level": "error", "code": 500}')])
    put(env, "g", "app-2", [(T0 + 2, "INFO two"), (T0 + 5, "ERROR five")])
    put(env, "g", "web", [(T0 + 3, '{"level": "info", "code": 200}')])
    return env


def search(env: Env, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = run(env, "FilterLogEvents", logGroupName="g", **params)
    return result


def messages(result: dict[str, Any]) -> list[str]:
    return [e["message"] for e in result["events"]]


def test_all_streams_interleaved_by_time(group: Env) -> None:
    result = search(group)
    assert [e["logStreamName"] for e in result["events"]] == ["app-1", "app-2", "web", "app-1", "app-2"]
    assert result["searchedLogStreams"] == []
    assert "nextToken" not in result
    first = result["events"][0]
    assert set(first) == {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}


def test_term_and_json_patterns(group: Env) -> None:
    assert messages(search(group, filterPattern="ERROR")) == ["ERROR one", "ERROR five"]
    assert messages(search(group, filterPattern="{ $.code >= 500 }")) == ['{"level": "error", "code": 500}']
    with pytest.raises(InvalidFilterPattern, match="position 12") as refused:
        search(group, filterPattern="{ $.code >= }")
    assert refused.value.code == "InvalidParameterException"


def test_streams_prefix_and_time_range(group: Env) -> None:
    assert messages(search(group, logStreamNames=["web", "app-2"])) == [
        "INFO two",
        '{"level": "info", "code": 200}',
        "ERROR five",
    ]
    assert messages(search(group, logStreamNamePrefix="app-1")) == [
        "ERROR one",
        '{"level": "error", "code": 500}',
    ]
    assert messages(search(group, startTime=T0 + 2, endTime=T0 + 3)) == [
        "INFO two",
        '{"level": "info", "code": 200}',
    ]
    with pytest.raises(InvalidParameter, match="mutually exclusive"):
        search(group, logStreamNames=["web"], logStreamNamePrefix="app")


def test_pages_with_a_limit_and_a_bound_token(group: Env) -> None:
    seen, token = [], None
    while True:
        page = search(group, limit=2, **({"nextToken": token} if token else {}))
        seen += messages(page)
        if (token := page.get("nextToken")) is None:
            break
    assert len(seen) == 5
    token = search(group, limit=2)["nextToken"]
    with pytest.raises(InvalidParameter, match="nextToken"):
        search(group, limit=2, filterPattern="ERROR", nextToken=token)


def test_newest_first_pages_keep_their_direction(group: Env) -> None:
    seen, token = [], None
    while True:
        extra = {"nextToken": token, "startFromHead": True} if token else {"startFromHead": False}
        page = search(group, limit=2, **extra)
        seen += [e["timestamp"] - T0 for e in page["events"]]
        if (token := page.get("nextToken")) is None:
            break
    assert seen == [5, 4, 3, 2, 1]
    assert messages(search(group, startFromHead=False, filterPattern="ERROR")) == ["ERROR five", "ERROR one"]
    with pytest.raises(InvalidParameter, match="on or after Jan 1, 2024"):
        search(group, startFromHead=False, startTime=1_704_067_199_999)


def test_by_identifier_and_missing_group(group: Env) -> None:
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g:*"
    assert len(run(group, "FilterLogEvents", logGroupIdentifier=arn)["events"]) == 5
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(group, "FilterLogEvents", logGroupName="nope")
