"""PutRetentionPolicy and DeleteRetentionPolicy, and the server's retention pass removing log events
older than their group keeps."""

from __future__ import annotations

import asyncio

import pytest

from opentrail.errors import InvalidParameter, ResourceNotFound
from opentrail.server.retention import purge_log_groups
from opentrail.streams.logs.retention import RETENTION_DAYS
from tests.support.calls import Env
from tests.support.logs import NOW_MS, group_with_events, put, run

DAY_MS = 86_400_000


def retention(env: Env) -> object:
    return run(env, "DescribeLogGroups")["logGroups"][0].get("retentionInDays")


def test_put_and_delete_a_retention_policy(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    assert retention(env) is None
    for days in (1, 3653):
        assert run(env, "PutRetentionPolicy", logGroupName="g", retentionInDays=days) == {}
        assert retention(env) == days
    assert run(env, "DeleteRetentionPolicy", logGroupName="g") == {}
    assert retention(env) is None


@pytest.mark.parametrize("days", [0, 2, 4000, -1])
def test_only_the_documented_values_are_accepted(env: Env, days: int) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    assert days not in RETENTION_DAYS
    with pytest.raises(InvalidParameter, match="enum value set: \\[1, 3, 5, 7, 14"):
        run(env, "PutRetentionPolicy", logGroupName="g", retentionInDays=days)


def test_a_missing_group_is_not_found(env: Env) -> None:
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(env, "PutRetentionPolicy", logGroupName="g", retentionInDays=1)
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(env, "DeleteRetentionPolicy", logGroupName="g")


def test_the_retention_pass_removes_events_past_their_groups_retention(env: Env) -> None:
    group_with_events(env, "short", "s", [(NOW_MS - 3 * DAY_MS, "old")])
    put(env, "short", "s", [(NOW_MS, "new")])  # a batch spans at most 24 hours
    group_with_events(env, "kept", "s", [(NOW_MS - 3 * DAY_MS, "old but kept")])
    run(env, "PutRetentionPolicy", logGroupName="short", retentionInDays=1)
    assert asyncio.run(purge_log_groups(env.services)) == 1
    events = run(env, "FilterLogEvents", logGroupName="short")["events"]
    assert [e["message"] for e in events] == ["new"]
    assert len(run(env, "FilterLogEvents", logGroupName="kept")["events"]) == 1
