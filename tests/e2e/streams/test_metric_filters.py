"""The real-time path end to end, up to the metrics: a trail streams to its log group, the group's metric
filters count the events they match into one-second metrics, and CloudWatch's GetMetricStatistics and
GetMetricData (boto3) read them at the events' own seconds; PutLogEvents of another producer is counted
the same way, and Prometheus sees the filters' metrics on ``/metrics``.

Every count is awaited until it is what was sent, then read again a moment later: nothing is counted
twice (the consumer's cursor moves with its samples)."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.delivery import record
from tests.support.server import Server
from tests.support.streams import Monitored, at


@pytest.fixture
def tenant(server: Server) -> Monitored:
    return Monitored(server)


def past_second() -> int:
    """A whole second 20 s into a minute that ended a while ago (so a minute's period holds it all)."""
    return (int(time.time()) - 90) // 60 * 60 + 20


def test_matching_events_are_counted_at_their_seconds(tenant: Monitored) -> None:
    tenant.streaming_trail("counted")
    tenant.metric_filter("Runs", '{ $.eventName = "RunInstances" }')
    t = past_second()
    matching = [at(record(tenant.account), t) for _ in range(3)]
    matching += [at(record(tenant.account), t + 2) for _ in range(2)]
    others = [at(record(tenant.account, read_only=True), t) for _ in range(4)]
    tenant.ingest(matching[:2] + others + matching[2:])
    tenant.wait_statistics("Runs", t - 5, t + 5, {t: (3.0, 3.0), t + 2: (2.0, 2.0)})
    minute = t - 20
    assert tenant.statistics("Runs", minute, minute + 60, period=60) == {minute: (5.0, 5.0)}
    answer = tenant.cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "runs",
                "MetricStat": {
                    "Metric": {"Namespace": tenant.namespace, "MetricName": "Runs"},
                    "Period": 1,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=t - 5,
        EndTime=t + 5,
        ScanBy="TimestampAscending",
    )
    (result,) = answer["MetricDataResults"]
    assert result["StatusCode"] == "Complete"
    found = {
        int(stamp.timestamp()): value
        for stamp, value in zip(result["Timestamps"], result["Values"], strict=True)
    }
    assert found == {t: 3.0, t + 2: 2.0}


def test_a_default_value_is_published_for_the_events_that_do_not_match(tenant: Monitored) -> None:
    tenant.streaming_trail("defaults")
    tenant.metric_filter("Denied", '{ $.errorCode = "AccessDenied" }', defaultValue=0.0)
    t = past_second()
    denied = [at(record(tenant.account), t, errorCode="AccessDenied") for _ in range(2)]
    allowed = [at(record(tenant.account), t) for _ in range(3)]
    tenant.ingest(denied + allowed)
    tenant.wait_statistics("Denied", t - 5, t + 5, {t: (2.0, 5.0)})


def test_a_field_as_the_value_and_dimensions_from_the_event(tenant: Monitored) -> None:
    tenant.streaming_trail("fields")
    tenant.metric_filter(
        "Instances",
        '{ $.eventName = "RunInstances" }',
        "$.requestParameters.instanceCount",
        dimensions={"User": "$.userIdentity.userName"},
    )
    t = past_second()

    def run(user: str, count: object) -> dict[str, object]:
        identity = {"type": "IAMUser", "accountId": tenant.account, "userName": user}
        params = {} if count is None else {"requestParameters": {"instanceCount": count}}
        return at(record(tenant.account), t, userIdentity=identity, **params)

    # No count, or not a number: nothing is published for the event.
    tenant.ingest([run("alice", 3), run("bob", 5), run("alice", None), run("carol", "many"), run("alice", 4)])
    tenant.wait_statistics("Instances", t - 5, t + 5, {t: (7.0, 2.0)}, User="alice")
    assert tenant.statistics("Instances", t - 5, t + 5, User="bob") == {t: (5.0, 1.0)}
    assert tenant.statistics("Instances", t - 5, t + 5) == {}  # no metric without the dimension
    listed = tenant.cloudwatch.list_metrics(Namespace=tenant.namespace)["Metrics"]
    assert sorted(m["Dimensions"][0]["Value"] for m in listed) == ["alice", "bob"]
    assert {m["MetricName"] for m in listed} == {"Instances"}


def test_a_filter_counts_only_the_events_that_arrive_after_it(tenant: Monitored) -> None:
    tenant.streaming_trail("later")
    t = past_second()
    before = [at(record(tenant.account), t) for _ in range(4)]
    tenant.ingest(before)
    tenant.wait_streamed({r["eventID"] for r in before})
    tenant.metric_filter("Runs", '{ $.eventName = "RunInstances" }')
    after = [at(record(tenant.account), t) for _ in range(2)]
    tenant.ingest(after)
    tenant.wait_statistics("Runs", t - 5, t + 5, {t: (2.0, 2.0)})


def put_log_events(tenant: Monitored, stream: str, messages: list[tuple[int, str]]) -> None:
    tenant.logs.create_log_stream(logGroupName=tenant.group, logStreamName=stream)
    events = [{"timestamp": second * 1000 + i, "message": m} for i, (second, m) in enumerate(messages)]
    tenant.logs.put_log_events(logGroupName=tenant.group, logStreamName=stream, logEvents=events)


def test_another_producers_log_events_are_counted_too(tenant: Monitored) -> None:
    tenant.metric_filter("Errors", "ERROR -timeout")
    tenant.metric_filter("Slow", "{ $.latency > 100 }", "$.latency", unit="Milliseconds")
    t = int(time.time()) - 10
    put_log_events(
        tenant,
        "app",
        [
            (t, "ERROR disk full"),
            (t, "INFO all good"),
            (t, "ERROR timeout talking to db"),
            (t + 1, "ERROR again"),
            (t + 1, json.dumps({"latency": 250, "path": "/a"})),
            (t + 1, json.dumps({"latency": 50, "path": "/b"})),
            (t + 1, json.dumps({"latency": 150.5, "path": "/c"})),
        ],
    )
    tenant.wait_statistics("Errors", t - 5, t + 5, {t: (1.0, 1.0), t + 1: (1.0, 1.0)})
    tenant.wait_statistics("Slow", t - 5, t + 5, {t + 1: (400.5, 2.0)})


def test_prometheus_shows_the_metric_filters_gauges(server: Server, tenant: Monitored) -> None:
    tenant.metric_filter("Latency", "[ip, user, status=5*, latency]", "$latency")
    t = int(time.time()) - 5
    lines = ["192.0.2.1 alice 500 120", "192.0.2.2 bob 200 80", "192.0.2.3 carol 503 30"]
    put_log_events(tenant, "web", [(t, line) for line in lines])
    tenant.wait_statistics("Latency", t - 5, t + 5, {t: (150.0, 2.0)})
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("account") == tenant.account and labels.get("metric_name") == "Latency":
                assert (labels["region"], labels["namespace"]) == ("us-east-1", tenant.namespace)
                found[sample.name] = sample.value
    assert found == {"opentrail_metric_filter_sum": 150.0, "opentrail_metric_filter_count": 2.0}
