"""A trail streams the events it selects to its log group (CloudTrail's CloudWatch Logs delivery): one
log event per event, the record as its message, CloudTrail's stream name, within seconds; GetTrailStatus
tells when, and what went wrong."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.delivery import record
from tests.support.server import Server, wait_for
from tests.support.streams import ROLE, Tenant


@pytest.fixture
def tenant(server: Server) -> Tenant:
    return Tenant(server)


def test_selected_events_reach_the_log_group_as_their_records(tenant: Tenant) -> None:
    tenant.streaming_trail("streaming")
    sent = [record(tenant.account) for _ in range(5)]
    started = time.monotonic()
    tenant.ingest(sent)
    ids = {r["eventID"] for r in sent}
    tenant.wait_streamed(ids, timeout=15)
    assert time.monotonic() - started < 10
    events = {json.loads(e["message"])["eventID"]: e for e in tenant.log_events()}
    for original in sent:
        event = events[original["eventID"]]
        assert json.loads(event["message"]) == original
        when = time.strptime(original["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        assert event["timestamp"] // 1000 == int(time.mktime(when) - time.timezone)
    streams = tenant.logs.describe_log_streams(logGroupName=tenant.group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == [f"{tenant.account}_CloudTrail_us-east-1"]


def test_each_event_is_streamed_once_in_the_order_of_the_log(tenant: Tenant) -> None:
    tenant.streaming_trail("ordered")
    sent = [record(tenant.account) for _ in range(30)]
    for start in range(0, 30, 10):
        tenant.ingest(sent[start : start + 10])
    ids = [r["eventID"] for r in sent]
    streamed = tenant.wait_streamed(set(ids))
    assert len(streamed) == len(set(streamed))
    ours = [i for i in streamed if i in set(ids)]
    assert ours == ids


def test_the_trails_selectors_decide_what_is_streamed(tenant: Tenant) -> None:
    tenant.streaming_trail("writes-only")
    tenant.cloudtrail.put_event_selectors(
        TrailName="writes-only",
        EventSelectors=[{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}],
    )
    write = record(tenant.account)
    read = record(tenant.account, read_only=True)
    tenant.ingest([read, write])
    tenant.wait_streamed({write["eventID"]})
    time.sleep(1.0)
    assert read["eventID"] not in tenant.streamed_ids()


def test_get_trail_status_reports_the_latest_delivery(tenant: Tenant) -> None:
    tenant.streaming_trail("status")
    before = time.time()
    sent = record(tenant.account)
    tenant.ingest([sent])
    tenant.wait_streamed({sent["eventID"]})
    status = tenant.cloudtrail.get_trail_status(Name="status")
    assert status["LatestCloudWatchLogsDeliveryTime"].timestamp() >= before - 1
    assert "LatestCloudWatchLogsDeliveryError" not in status


def test_a_deleted_log_group_is_reported_and_streaming_resumes_when_it_is_back(tenant: Tenant) -> None:
    tenant.streaming_trail("resumes")
    first = record(tenant.account)
    tenant.ingest([first])
    tenant.wait_streamed({first["eventID"]})
    tenant.logs.delete_log_group(logGroupName=tenant.group)
    waiting = record(tenant.account)
    tenant.ingest([waiting])

    def reported() -> str | None:
        status = tenant.cloudtrail.get_trail_status(Name="resumes")
        error: str | None = status.get("LatestCloudWatchLogsDeliveryError")
        return error

    error = wait_for(reported, "LatestCloudWatchLogsDeliveryError")
    assert "ResourceNotFoundException" in error
    tenant.logs.create_log_group(logGroupName=tenant.group)
    tenant.wait_streamed({waiting["eventID"]}, timeout=90)
    assert "LatestCloudWatchLogsDeliveryError" not in tenant.cloudtrail.get_trail_status(Name="resumes")


def test_a_trail_naming_a_missing_log_group_gets_cloudtrails_error(tenant: Tenant) -> None:
    missing = f"arn:aws:logs:us-east-1:{tenant.account}:log-group:no-such-group:*"
    with pytest.raises(tenant.cloudtrail.exceptions.InvalidCloudWatchLogsLogGroupArnException) as info:
        tenant.cloudtrail.create_trail(
            Name="nowhere",
            S3BucketName=tenant.bucket,
            CloudWatchLogsLogGroupArn=missing,
            CloudWatchLogsRoleArn=ROLE.format(account=tenant.account),
        )
    assert info.value.response["Error"]["Message"] == "Access denied. Check the permissions for your role."


def test_another_accounts_log_group_is_refused(server: Server, tenant: Tenant) -> None:
    other = Tenant(server)
    with pytest.raises(tenant.cloudtrail.exceptions.InvalidCloudWatchLogsLogGroupArnException):
        tenant.cloudtrail.create_trail(
            Name="theirs",
            S3BucketName=tenant.bucket,
            CloudWatchLogsLogGroupArn=other.group_arn,
            CloudWatchLogsRoleArn=ROLE.format(account=tenant.account),
        )


def test_a_stopped_trail_streams_nothing_of_its_stopped_time(tenant: Tenant) -> None:
    tenant.streaming_trail("paused")
    before = record(tenant.account)
    tenant.ingest([before])
    tenant.wait_streamed({before["eventID"]})
    tenant.cloudtrail.stop_logging(Name="paused")
    during = record(tenant.account)
    tenant.ingest([during])
    time.sleep(1.5)
    tenant.cloudtrail.start_logging(Name="paused")
    after = record(tenant.account)
    tenant.ingest([after])
    streamed = tenant.wait_streamed({after["eventID"]})
    assert during["eventID"] not in streamed
    assert streamed.count(before["eventID"]) == 1
