"""PutMetricData, GetMetricStatistics, GetMetricData and ListMetrics with boto3, once per protocol the
model lists (JSON 1.0, query, rpc-v2-cbor): the same answers and the model's errors whichever speaks."""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import botocore.exceptions
import pytest


def namespace() -> str:
    return f"Test/{uuid.uuid4().hex[:12]}"


def minute_ago() -> float:
    """The start of the previous whole minute: a put there lands in one 60-second period."""
    now = time.time()
    return now - now % 60 - 60


def error_code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response["Error"]["Code"])


def test_values_counts_and_statistic_sets_are_one_metrics_statistics(cloudwatch: Any) -> None:
    space, at = namespace(), minute_ago()
    dims = [{"Name": "Host", "Value": "a"}]
    cloudwatch.put_metric_data(
        Namespace=space,
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": at + 1,
                "Value": 10.0,
                "Unit": "Milliseconds",
            },
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": at + 2,
                "Values": [20.0, 30.0],
                "Counts": [1.0, 2.0],
                "Unit": "Milliseconds",
            },
            {
                "MetricName": "Latency",
                "Dimensions": dims,
                "Timestamp": at + 3,
                "StatisticValues": {"SampleCount": 4, "Sum": 8.0, "Minimum": 1.0, "Maximum": 3.0},
                "Unit": "Milliseconds",
            },
        ],
    )
    answer = cloudwatch.get_metric_statistics(
        Namespace=space,
        MetricName="Latency",
        Dimensions=dims,
        StartTime=at,
        EndTime=at + 60,
        Period=60,
        Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"],
        ExtendedStatistics=["p50", "p100"],
    )
    [point] = answer["Datapoints"]
    assert answer["Label"] == "Latency"
    assert point["Timestamp"] == datetime.fromtimestamp(at, UTC)
    assert (point["SampleCount"], point["Sum"], point["Minimum"], point["Maximum"]) == (8.0, 98.0, 1.0, 30.0)
    assert point["Average"] == pytest.approx(98.0 / 8)
    # The statistic set kept no values: percentiles come from 10, 20, 30, 30.
    assert point["ExtendedStatistics"] == {"p50": 20.0, "p100": 30.0}
    assert point["Unit"] == "Milliseconds"


def test_periods_units_and_dimensions_select_datapoints(cloudwatch: Any) -> None:
    space, at = namespace(), minute_ago() - 60
    cloudwatch.put_metric_data(
        Namespace=space,
        MetricData=[
            {"MetricName": "Jobs", "Timestamp": at + 5, "Value": 1.0, "Unit": "Count"},
            {"MetricName": "Jobs", "Timestamp": at + 15, "Value": 2.0, "Unit": "Count"},
            {"MetricName": "Jobs", "Timestamp": at + 65, "Value": 4.0, "Unit": "Seconds"},
            {
                "MetricName": "Jobs",
                "Dimensions": [{"Name": "Q", "Value": "x"}],
                "Timestamp": at + 5,
                "Value": 9.0,
            },
        ],
    )
    common = {"Namespace": space, "MetricName": "Jobs", "StartTime": at, "EndTime": at + 120}
    tens = cloudwatch.get_metric_statistics(**common, Period=10, Statistics=["Sum"])["Datapoints"]
    assert sorted((p["Timestamp"].timestamp() - at, p["Sum"], p["Unit"]) for p in tens) == [
        (0, 1.0, "Count"),
        (10, 2.0, "Count"),
        (60, 4.0, "Seconds"),
    ]
    counts = cloudwatch.get_metric_statistics(**common, Period=120, Statistics=["Sum"], Unit="Count")[
        "Datapoints"
    ]
    assert [(p["Sum"], p["Unit"]) for p in counts] == [(3.0, "Count")]


def test_get_metric_data_does_math_and_pages(cloudwatch: Any) -> None:
    space, at = namespace(), minute_ago() - 120
    data = [{"MetricName": "A", "Timestamp": at + 60 * i, "Value": float(i + 1)} for i in range(3)]
    data += [{"MetricName": "B", "Timestamp": at + 60 * i, "Value": 2.0} for i in range(3)]
    cloudwatch.put_metric_data(Namespace=space, MetricData=data)

    def stat(name: str) -> dict[str, Any]:
        return {"Metric": {"Namespace": space, "MetricName": name}, "Period": 60, "Stat": "Sum"}

    queries = [
        {"Id": "a", "MetricStat": stat("A"), "ReturnData": False},
        {"Id": "b", "MetricStat": stat("B"), "Label": "bee"},
        {"Id": "ratio", "Expression": "a/b*100"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
    ]
    window = {
        "MetricDataQueries": queries,
        "StartTime": at,
        "EndTime": at + 180,
        "ScanBy": "TimestampAscending",
    }
    full = cloudwatch.get_metric_data(**window)
    results = {r["Id"]: r for r in full["MetricDataResults"]}
    assert set(results) == {"b", "ratio", "total"}
    assert results["b"]["Label"] == "bee"
    assert results["ratio"]["Values"] == [50.0, 100.0, 150.0]
    assert results["total"]["Values"] == [3.0, 4.0, 5.0]
    assert [t.timestamp() for t in results["total"]["Timestamps"]] == [at, at + 60, at + 120]
    assert all(r["StatusCode"] == "Complete" for r in results.values())
    pages, token = [], None
    while True:
        page = cloudwatch.get_metric_data(
            **window, MaxDatapoints=4, **({"NextToken": token} if token else {})
        )
        pages.append(page)
        token = page.get("NextToken")
        if token is None:
            break
    assert len(pages) == 3
    assert [r["StatusCode"] for r in pages[0]["MetricDataResults"]] == [
        "Complete",
        "PartialData",
        "PartialData",
    ]
    joined: dict[str, list[float]] = {}
    for page in pages:
        for result in page["MetricDataResults"]:
            joined.setdefault(result["Id"], []).extend(result["Values"])
    assert joined == {r: results[r]["Values"] for r in results}
    newest_first = cloudwatch.get_metric_data(**dict(window, ScanBy="TimestampDescending"))
    assert newest_first["MetricDataResults"][2]["Values"] == [5.0, 4.0, 3.0]


def test_list_metrics_filters_by_name_and_dimensions(cloudwatch: Any) -> None:
    space = namespace()
    cloudwatch.put_metric_data(
        Namespace=space,
        MetricData=[
            {"MetricName": "Hits", "Dimensions": [{"Name": "Page", "Value": "/"}], "Value": 1.0},
            {"MetricName": "Hits", "Dimensions": [{"Name": "Page", "Value": "/x"}], "Value": 1.0},
            {"MetricName": "Misses", "Value": 1.0},
        ],
    )
    listed = cloudwatch.list_metrics(Namespace=space)["Metrics"]
    assert [(m["MetricName"], m["Dimensions"]) for m in listed] == [
        ("Hits", [{"Name": "Page", "Value": "/"}]),
        ("Hits", [{"Name": "Page", "Value": "/x"}]),
        ("Misses", []),
    ]
    by_value = cloudwatch.list_metrics(Namespace=space, Dimensions=[{"Name": "Page", "Value": "/x"}])[
        "Metrics"
    ]
    assert [m["Dimensions"][0]["Value"] for m in by_value] == ["/x"]
    by_name = cloudwatch.list_metrics(Namespace=space, Dimensions=[{"Name": "Page"}], RecentlyActive="PT3H")
    assert len(by_name["Metrics"]) == 2
    assert (
        cloudwatch.list_metrics(Namespace=space, MetricName="Misses")["Metrics"][0]["MetricName"] == "Misses"
    )


@pytest.mark.parametrize(
    ("call", "code", "text"),
    [
        (
            {"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1.0}]},
            "InvalidParameterValue",
            "The value AWS/EC2 for parameter Namespace is invalid.",
        ),
        (
            {"Namespace": "T", "MetricData": [{"MetricName": "m", "Value": 1.0, "Timestamp": 1_000_000}]},
            "InvalidParameterValue",
            "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.",
        ),
        (
            {"Namespace": "T", "MetricData": [{"MetricName": "m", "Value": 1.0, "Values": [1.0]}]},
            "InvalidParameterCombination",
            "mutually exclusive",
        ),
        (
            {"Namespace": "T", "MetricData": [{"MetricName": "m", "Value": 1.0}] * 1001},
            "InvalidParameterValue",
            "The collection MetricData must not have a size greater than 1000.",
        ),
    ],
)
def test_put_metric_data_refusals(cloudwatch: Any, call: dict[str, Any], code: str, text: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        cloudwatch.put_metric_data(**call)
    assert error_code(caught.value) == code, caught.value.response["Error"]
    assert text in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_read_refusals_name_the_models_errors(cloudwatch: Any) -> None:
    now = time.time()
    with pytest.raises(cloudwatch.exceptions.InvalidParameterCombinationException) as too_many:
        cloudwatch.get_metric_statistics(
            Namespace="T", MetricName="m", StartTime=now - 86400, EndTime=now, Period=1, Statistics=["Sum"]
        )
    assert "which exceeds the limit of 1440" in str(too_many.value)
    with pytest.raises(cloudwatch.exceptions.InvalidParameterValueException, match="multiple of 60"):
        cloudwatch.get_metric_statistics(
            Namespace="T", MetricName="m", StartTime=now - 600, EndTime=now, Period=90, Statistics=["Sum"]
        )
    with pytest.raises(cloudwatch.exceptions.MissingRequiredParameterException):
        cloudwatch.get_metric_statistics(
            Namespace="T", MetricName="m", StartTime=now - 600, EndTime=now, Period=60
        )
    with pytest.raises(botocore.exceptions.ClientError) as unsupported:
        cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "e1", "Expression": 'SEARCH("{AWS/EC2} x", "Average", 60)'}],
            StartTime=now - 600,
            EndTime=now,
        )
    assert error_code(unsupported.value) == "ValidationError"
    assert "unsupported function SEARCH" in str(unsupported.value)
    with pytest.raises(cloudwatch.exceptions.InvalidNextToken):
        cloudwatch.list_metrics(NextToken="forged")


def test_high_resolution_periods_answer_within_three_hours_only(cloudwatch: Any) -> None:
    space, now = namespace(), time.time()
    cloudwatch.put_metric_data(
        Namespace=space,
        MetricData=[
            {"MetricName": "m", "Value": 1.0, "Timestamp": now - 4 * 3600, "StorageResolution": 1},
            {"MetricName": "m", "Value": 2.0, "Timestamp": now - 30, "StorageResolution": 1},
        ],
    )
    recent = cloudwatch.get_metric_statistics(
        Namespace=space, MetricName="m", StartTime=now - 120, EndTime=now + 1, Period=1, Statistics=["Sum"]
    )
    assert [p["Sum"] for p in recent["Datapoints"]] == [2.0]
    old = cloudwatch.get_metric_statistics(
        Namespace=space,
        MetricName="m",
        StartTime=now - 4 * 3600 - 60,
        EndTime=now - 4 * 3600 + 60,
        Period=10,
        Statistics=["Sum"],
    )
    assert old["Datapoints"] == []
    minutes = cloudwatch.get_metric_statistics(
        Namespace=space,
        MetricName="m",
        StartTime=now - 5 * 3600,
        EndTime=now + 60,
        Period=3600,
        Statistics=["Sum"],
    )
    assert math.fsum(p["Sum"] for p in minutes["Datapoints"]) == 3.0
