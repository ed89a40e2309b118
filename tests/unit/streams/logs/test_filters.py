"""PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter and TestMetricFilter in process: the
transformations' rules (values, dimensions only on patterns with fields, no defaultValue beside them,
units), 100 filters a group, listings by group, prefix and metric, and test matches with extracted
values."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.errors import InvalidParameter, LimitExceeded, ResourceNotFound
from tests.support.calls import Env
from tests.support.logs import NOW_MS, OTHER, run

JSON = '{ $.eventName = "ConsoleLogin" }'


def transformation(**extra: Any) -> list[dict[str, Any]]:
    return [{"metricName": "Logins", "metricNamespace": "CIS", "metricValue": "1", **extra}]


def put_filter(env: Env, name: str = "f", pattern: str = JSON, group: str = "g", **extra: Any) -> Any:
    return run(
        env,
        "PutMetricFilter",
        logGroupName=group,
        filterName=name,
        filterPattern=pattern,
        metricTransformations=transformation(**extra),
    )


@pytest.fixture
def group(env: Env) -> Env:
    run(env, "CreateLogGroup", logGroupName="g")
    return env


def test_put_describe_replace_and_delete(group: Env) -> None:
    assert put_filter(group, unit="Count", defaultValue=0) == {}
    assert run(group, "DescribeMetricFilters", logGroupName="g")["metricFilters"] == [
        {
            "filterName": "f",
            "filterPattern": JSON,
            "metricTransformations": transformation(defaultValue=0.0, unit="Count"),
            "creationTime": NOW_MS,
            "logGroupName": "g",
            "applyOnTransformedLogs": False,
        }
    ]
    put_filter(group, pattern="ERROR")
    [replaced] = run(group, "DescribeMetricFilters", logGroupName="g")["metricFilters"]
    assert replaced["filterPattern"] == "ERROR"
    assert run(group, "DescribeLogGroups")["logGroups"][0]["metricFilterCount"] == 1
    assert run(group, "DeleteMetricFilter", logGroupName="g", filterName="f") == {}
    with pytest.raises(ResourceNotFound, match="metric filter does not exist"):
        run(group, "DeleteMetricFilter", logGroupName="g", filterName="f")
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        put_filter(group, group="missing")


def test_dimensions_need_a_pattern_with_fields_and_no_default(group: Env) -> None:
    put_filter(group, metricValue="$.count", dimensions={"User": "$.userIdentity.userName"})
    with pytest.raises(InvalidParameter, match="The specified filter pattern does not support dimensions"):
        put_filter(group, pattern="ERROR", dimensions={"User": "$.user"})
    with pytest.raises(InvalidParameter, match="defaultValue"):
        put_filter(group, defaultValue=0, dimensions={"User": "$.user"})
    with pytest.raises(InvalidParameter, match="at most 3"):
        put_filter(group, dimensions={f"d{i}": "$.x" for i in range(4)})
    with pytest.raises(InvalidParameter, match="dimension value"):
        put_filter(group, dimensions={"User": "literal"})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"metricValue": "$.count", "pattern": "ERROR"}, "term pattern"),
        ({"metricValue": "many"}, "Invalid metric value"),
        ({"metricName": "a:b"}, "metricName"),
        ({"metricNamespace": "a$b"}, "metricNamespace"),
        ({"unit": "Parsecs"}, "enum value set"),
        ({"defaultValue": "zero"}, "defaultValue"),
    ],
)
def test_transformations_outside_the_rules_are_refused(
    group: Env, extra: dict[str, Any], message: str
) -> None:
    pattern = extra.pop("pattern", JSON)
    with pytest.raises(InvalidParameter, match=message):
        put_filter(group, pattern=pattern, **extra)


def test_at_most_one_transformation_and_100_filters(group: Env) -> None:
    with pytest.raises(InvalidParameter, match="between 1 and 1"):
        run(
            group,
            "PutMetricFilter",
            logGroupName="g",
            filterName="f",
            filterPattern="",
            metricTransformations=transformation() * 2,
        )
    for i in range(100):
        put_filter(group, name=f"f{i:03d}")
    with pytest.raises(LimitExceeded):
        put_filter(group, name="one-more")
    put_filter(group, name="f000", pattern="")  # replacing one is no new filter


def test_describe_by_prefix_metric_and_pages(group: Env) -> None:
    run(group, "CreateLogGroup", logGroupName="h")
    for name in ("b", "a", "c"):
        put_filter(group, name=name)
    put_filter(group, name="other-metric", metricName="Other")
    put_filter(group, name="x", group="h")
    listed = run(group, "DescribeMetricFilters")["metricFilters"]
    assert [(f["logGroupName"], f["filterName"]) for f in listed] == [
        ("g", "a"),
        ("g", "b"),
        ("g", "c"),
        ("g", "other-metric"),
        ("h", "x"),
    ]
    by_prefix = run(group, "DescribeMetricFilters", logGroupName="g", filterNamePrefix="o")["metricFilters"]
    assert [f["filterName"] for f in by_prefix] == ["other-metric"]
    by_metric = run(group, "DescribeMetricFilters", metricName="Other", metricNamespace="CIS")[
        "metricFilters"
    ]
    assert [f["filterName"] for f in by_metric] == ["other-metric"]
    seen, token = [], None
    while True:
        page = run(group, "DescribeMetricFilters", limit=2, **({"nextToken": token} if token else {}))
        seen += [f["filterName"] for f in page["metricFilters"]]
        if (token := page.get("nextToken")) is None:
            break
    assert seen == ["a", "b", "c", "other-metric", "x"]
    assert run(group, "DescribeMetricFilters", account=OTHER)["metricFilters"] == []
    with pytest.raises(InvalidParameter, match="together"):
        run(group, "DescribeMetricFilters", metricName="Other")
    with pytest.raises(ResourceNotFound):
        run(group, "DescribeMetricFilters", logGroupName="missing")


def test_test_metric_filter_numbers_matches_and_extracts_values(env: Env) -> None:
    result = run(
        env,
        "TestMetricFilter",
        filterPattern='{ $.eventName = "ConsoleLogin" && $.mfa != "Yes" }',
        logEventMessages=[
            '{"eventName": "ConsoleLogin", "mfa": "No"}',
            "not json",
            '{"eventName": "ConsoleLogin", "mfa": "Yes"}',
        ],
    )
    assert result == {
        "matches": [
            {
                "eventNumber": 1,
                "eventMessage": '{"eventName": "ConsoleLogin", "mfa": "No"}',
                "extractedValues": {"$.eventName": "ConsoleLogin", "$.mfa": "No"},
            }
        ]
    }
    terms = run(env, "TestMetricFilter", filterPattern="ERROR", logEventMessages=["ok", "an ERROR"])
    assert terms["matches"] == [{"eventNumber": 2, "eventMessage": "an ERROR", "extractedValues": {}}]
    with pytest.raises(InvalidParameter, match="between 1 and 50"):
        run(env, "TestMetricFilter", filterPattern="", logEventMessages=["x"] * 51)
