"""The Logs API through boto3 against the real server: a group's whole life, events in and out with
paginators, AWS's errors, metric filters, tags, account isolation, and every call audited with
eventSource logs.amazonaws.com."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Credentials, Server, wait_for


def logs(server: Server, tenant: Credentials, region: str = "us-east-1") -> Any:
    return server.client("logs", tenant, region)


def now_ms() -> int:
    return int(time.time() * 1000)


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_a_group_stream_and_events_end_to_end(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    client.create_log_group(logGroupName="/app/api", tags={"team": "sec"})
    client.create_log_stream(logGroupName="/app/api", logStreamName="i-1")
    t = now_ms()
    put = client.put_log_events(
        logGroupName="/app/api",
        logStreamName="i-1",
        logEvents=[
            {"timestamp": t - 2, "message": "ERROR disk full"},
            {"timestamp": t, "message": "INFO ok"},
        ],
    )
    assert len(put["nextSequenceToken"]) == 56
    assert "rejectedLogEventsInfo" not in put
    events = client.get_log_events(logGroupName="/app/api", logStreamName="i-1", startFromHead=True)["events"]
    assert [(e["timestamp"], e["message"]) for e in events] == [(t - 2, "ERROR disk full"), (t, "INFO ok")]
    found = client.filter_log_events(logGroupName="/app/api", filterPattern="ERROR")["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [("i-1", "ERROR disk full")]
    [group] = client.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
    assert group["logGroupArn"] == f"arn:aws:logs:us-east-1:{tenant.account_id}:log-group:/app/api"
    assert group["arn"] == group["logGroupArn"] + ":*"
    assert group["storedBytes"] == len("ERROR disk full") + len("INFO ok") + 2 * 26
    [stream] = client.describe_log_streams(logGroupName="/app/api")["logStreams"]
    assert (stream["firstEventTimestamp"], stream["lastEventTimestamp"]) == (t - 2, t)
    client.delete_log_stream(logGroupName="/app/api", logStreamName="i-1")
    client.delete_log_group(logGroupName="/app/api")
    assert client.describe_log_groups()["logGroups"] == []


def test_paginators_walk_groups_streams_and_events(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    for i in range(12):
        client.create_log_group(logGroupName=f"g{i:02d}")
    pages = client.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 5})
    assert [g["logGroupName"] for page in pages for g in page["logGroups"]] == [
        f"g{i:02d}" for i in range(12)
    ]
    t = now_ms() - 1000
    for s in range(3):
        client.create_log_stream(logGroupName="g00", logStreamName=f"s{s}")
        client.put_log_events(
            logGroupName="g00",
            logStreamName=f"s{s}",
            logEvents=[{"timestamp": t + 3 * i + s, "message": f"event {3 * i + s}"} for i in range(40)],
        )
    streams = client.get_paginator("describe_log_streams").paginate(
        logGroupName="g00", PaginationConfig={"PageSize": 2}
    )
    assert [s["logStreamName"] for page in streams for s in page["logStreams"]] == ["s0", "s1", "s2"]
    found = client.get_paginator("filter_log_events").paginate(
        logGroupName="g00", filterPattern="event", PaginationConfig={"PageSize": 7}
    )
    assert [e["message"] for page in found for e in page["events"]] == [f"event {n}" for n in range(120)]


def test_get_log_events_tokens_walk_backward(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    client.create_log_group(logGroupName="g")
    client.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms() - 100
    client.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[{"timestamp": t + i, "message": str(i)} for i in range(9)],
    )
    page = client.get_log_events(logGroupName="g", logStreamName="s", limit=4)
    seen: list[str] = []
    while page["events"]:
        seen = [e["message"] for e in page["events"]] + seen
        token = page["nextBackwardToken"]
        page = client.get_log_events(logGroupName="g", logStreamName="s", limit=4, nextToken=token)
    assert seen == [str(i) for i in range(9)]
    assert page["nextBackwardToken"] == token


def test_errors_are_awss(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    with pytest.raises(ClientError) as missing:
        client.get_log_events(logGroupName="fakegroup", logStreamName="fakestream")
    assert error_of(missing) == ("ResourceNotFoundException", "The specified log group does not exist.")
    client.create_log_group(logGroupName="g")
    with pytest.raises(ClientError) as twice:
        client.create_log_group(logGroupName="g")
    assert error_of(twice)[0] == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as no_stream:
        client.put_log_events(
            logGroupName="g", logStreamName="s", logEvents=[{"timestamp": now_ms(), "message": "x"}]
        )
    assert error_of(no_stream) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    client.create_log_stream(logGroupName="g", logStreamName="s")
    with pytest.raises(ClientError) as unordered:
        client.put_log_events(
            logGroupName="g",
            logStreamName="s",
            logEvents=[{"timestamp": now_ms(), "message": "b"}, {"timestamp": now_ms() - 10, "message": "a"}],
        )
    assert error_of(unordered)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_retention:
        client.put_retention_policy(logGroupName="g", retentionInDays=2)
    assert error_of(bad_retention)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as bad_pattern:
        client.filter_log_events(logGroupName="g", filterPattern="{ $.a = }")
    assert error_of(bad_pattern)[0] == "InvalidParameterException"


def test_old_and_future_events_are_rejected_not_failed(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    client.create_log_group(logGroupName="g")
    client.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms()
    result = client.put_log_events(
        logGroupName="g",
        logStreamName="s",
        logEvents=[
            {"timestamp": t - 15 * 86_400_000, "message": "too old"},
            {"timestamp": t, "message": "kept"},
            {"timestamp": t + 3 * 3_600_000, "message": "too new"},
        ],
    )
    assert result["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}
    events = client.get_log_events(logGroupName="g", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["kept"]


def test_a_full_batch_is_taken_however_json_escapes_it(server: Server, tenant: Credentials) -> None:
    """1,048,576 bytes of messages made of quotes: over 2 MB once JSON escapes them, still one call."""
    client = logs(server, tenant)
    client.create_log_group(logGroupName="big")
    client.create_log_stream(logGroupName="big", logStreamName="s")
    half = 1_048_576 // 2 - 26
    t = now_ms()
    client.put_log_events(
        logGroupName="big", logStreamName="s", logEvents=[{"timestamp": t, "message": '"' * half}] * 2
    )
    [stream] = client.describe_log_streams(logGroupName="big")["logStreams"]
    assert stream["storedBytes"] == 1_048_576
    with pytest.raises(ClientError) as too_large:
        client.put_log_events(
            logGroupName="big",
            logStreamName="s",
            logEvents=[{"timestamp": t, "message": '"' * (half + 1)}] * 2,
        )
    assert error_of(too_large) == (
        "InvalidParameterException",
        "Upload too large: 1048578 bytes exceeds limit of 1048576",
    )


def test_metric_filters_and_tags(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    client.create_log_group(logGroupName="trail")
    pattern = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'
    client.put_metric_filter(
        logGroupName="trail",
        filterName="unauthorized",
        filterPattern=pattern,
        metricTransformations=[{"metricName": "Unauthorized", "metricNamespace": "CIS", "metricValue": "1"}],
    )
    [described] = client.describe_metric_filters(logGroupName="trail")["metricFilters"]
    assert (described["filterName"], described["filterPattern"]) == ("unauthorized", pattern)
    tested = client.test_metric_filter(
        filterPattern=pattern, logEventMessages=['{"errorCode": "AccessDenied"}', '{"errorCode": "None"}']
    )
    assert tested["matches"] == [
        {
            "eventNumber": 1,
            "eventMessage": '{"errorCode": "AccessDenied"}',
            "extractedValues": {"$.errorCode": "AccessDenied"},
        }
    ]
    with pytest.raises(ClientError) as dimensions:
        client.put_metric_filter(
            logGroupName="trail",
            filterName="terms",
            filterPattern="ERROR",
            metricTransformations=[
                {"metricName": "m", "metricNamespace": "n", "metricValue": "1", "dimensions": {"d": "$.x"}}
            ],
        )
    assert error_of(dimensions) == (
        "InvalidParameterException",
        "The specified filter pattern does not support dimensions",
    )
    arn = client.describe_log_groups()["logGroups"][0]["logGroupArn"]
    client.tag_resource(resourceArn=arn, tags={"env": "prod"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "prod"}
    client.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert client.list_tags_log_group(logGroupName="trail")["tags"] == {}
    client.delete_metric_filter(logGroupName="trail", filterName="unauthorized")
    assert client.describe_metric_filters(logGroupName="trail")["metricFilters"] == []


def test_accounts_and_regions_are_isolated(server: Server, tenant: Credentials) -> None:
    other = server.new_account("logs-other")
    logs(server, tenant).create_log_group(logGroupName="private")
    assert logs(server, other).describe_log_groups()["logGroups"] == []
    assert logs(server, tenant, "eu-west-1").describe_log_groups()["logGroups"] == []
    with pytest.raises(ClientError) as hidden:
        logs(server, other).describe_log_streams(
            logGroupIdentifier=f"arn:aws:logs:us-east-1:{tenant.account_id}:log-group:private"
        )
    assert error_of(hidden)[0] == "ResourceNotFoundException"
    logs(server, other).create_log_group(logGroupName="private")  # the name is free in another account


def test_calls_are_audited_as_logs_events(server: Server, tenant: Credentials) -> None:
    client = logs(server, tenant)
    client.create_log_group(logGroupName="audited")
    client.describe_log_groups()
    client.filter_log_events(logGroupName="audited")
    cloudtrail = server.client("cloudtrail", tenant)

    def recorded() -> dict[str, bool]:
        found = cloudtrail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "logs.amazonaws.com"}]
        )["Events"]
        return {e["EventName"]: e["ReadOnly"] == "true" for e in found}

    seen = wait_for(lambda: r if len(r := recorded()) >= 3 else None, "the Logs calls in event history")
    assert seen == {"CreateLogGroup": False, "DescribeLogGroups": True, "FilterLogEvents": True}
