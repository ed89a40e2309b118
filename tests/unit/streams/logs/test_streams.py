"""CreateLogStream, DeleteLogStream and DescribeLogStreams in process: AWS's errors, the stream's event
times, ordering by name or last event, and pages."""

from __future__ import annotations

import pytest

from opentrail.errors import InvalidParameter, ResourceAlreadyExists, ResourceNotFound
from tests.support.calls import Env
from tests.support.logs import ACCOUNT, NOW_MS, OTHER, put, run


def names(result: dict[str, list[dict[str, object]]]) -> list[object]:
    return [s["logStreamName"] for s in result["logStreams"]]


def test_a_stream_is_created_once_in_an_existing_group(env: Env) -> None:
    with pytest.raises(ResourceNotFound, match=r"^The specified log group does not exist\.$"):
        run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    run(env, "CreateLogGroup", logGroupName="g")
    assert run(env, "CreateLogStream", logGroupName="g", logStreamName="s") == {}
    with pytest.raises(ResourceAlreadyExists, match="The specified log stream already exists"):
        run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    with pytest.raises(InvalidParameter, match=r"\[\^:\*\]\*"):
        run(env, "CreateLogStream", logGroupName="g", logStreamName="a:b")
    with pytest.raises(ResourceNotFound):
        run(env, "CreateLogStream", logGroupName="g", logStreamName="s2", account=OTHER)


def test_describe_shows_event_times_and_sizes(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    assert run(env, "DescribeLogStreams", logGroupName="g")["logStreams"] == [
        {
            "logStreamName": "s",
            "creationTime": NOW_MS,
            "arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g:log-stream:s",
            "storedBytes": 0,
        }
    ]
    put(env, "g", "s", [(NOW_MS - 5, "ab"), (NOW_MS - 1, "c")])
    [stream] = run(env, "DescribeLogStreams", logGroupName="g")["logStreams"]
    assert stream["firstEventTimestamp"] == NOW_MS - 5
    assert stream["lastEventTimestamp"] == NOW_MS - 1
    assert stream["lastIngestionTime"] == NOW_MS
    assert stream["storedBytes"] == 2 + 26 + 1 + 26
    assert len(stream["uploadSequenceToken"]) == 56


def test_order_by_name_or_last_event_with_pages(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    for name, at in (("b", 30), ("a", 10), ("c", 20), ("d", None)):
        run(env, "CreateLogStream", logGroupName="g", logStreamName=name)
        if at is not None:
            put(env, "g", name, [(NOW_MS - 100 + at, "x")])
    assert names(run(env, "DescribeLogStreams", logGroupName="g")) == ["a", "b", "c", "d"]
    assert names(run(env, "DescribeLogStreams", logGroupName="g", logStreamNamePrefix="c")) == ["c"]
    newest = run(env, "DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", descending=True)
    assert names(newest) == ["b", "c", "a", "d"]
    seen, token = [], None
    while True:
        extra = {"nextToken": token} if token else {}
        page = run(env, "DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", limit=1, **extra)
        seen += names(page)
        if (token := page.get("nextToken")) is None:
            break
    assert seen == ["d", "a", "c", "b"]
    with pytest.raises(InvalidParameter, match="Cannot order by LastEventTime with a logStreamNamePrefix"):
        run(env, "DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="a")


def test_the_group_is_named_by_name_or_identifier_exactly_once(env: Env) -> None:
    run(env, "CreateLogGroup", logGroupName="g")
    run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g"
    assert names(run(env, "DescribeLogStreams", logGroupIdentifier=arn)) == ["s"]
    assert names(run(env, "DescribeLogStreams", logGroupIdentifier="g")) == ["s"]
    with pytest.raises(InvalidParameter, match="Exactly one"):
        run(env, "DescribeLogStreams", logGroupIdentifier="g", logGroupName="g")
    with pytest.raises(InvalidParameter, match="Exactly one"):
        run(env, "DescribeLogStreams")
    # Another account's ARN names nothing this caller has.
    with pytest.raises(ResourceNotFound):
        run(env, "DescribeLogStreams", logGroupIdentifier=arn.replace(ACCOUNT, OTHER))


def test_delete_stream_errors_name_what_is_missing(env: Env) -> None:
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(env, "DeleteLogStream", logGroupName="g", logStreamName="s")
    run(env, "CreateLogGroup", logGroupName="g")
    with pytest.raises(ResourceNotFound, match=r"^The specified log stream does not exist\.$"):
        run(env, "DeleteLogStream", logGroupName="g", logStreamName="s")
    run(env, "CreateLogStream", logGroupName="g", logStreamName="s")
    assert run(env, "DeleteLogStream", logGroupName="g", logStreamName="s") == {}
    assert names(run(env, "DescribeLogStreams", logGroupName="g")) == []
