"""Whatever a client sends, decoding parameters ends in the plain form or in an API error of the
protocol, never in another exception (which the edge would answer with a 500): Hypothesis feeds
arbitrary JSON/CBOR trees and query forms to every CloudWatch operation's input shape."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.errors import ApiError
from opentrail.streams.monitoring import model
from opentrail.streams.monitoring.params import epoch, from_query, from_tree, query_tree

OPERATIONS = sorted(model.service().operation_names)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=4)
)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
names = st.sampled_from(
    [
        "MetricData",
        "member",
        "1",
        "2",
        "Value",
        "Values",
        "Timestamp",
        "Dimensions",
        "Name",
        "Namespace",
        "MetricDataQueries",
        "MetricStat",
        "Metric",
        "Period",
        "StartTime",
        "entry",
        "key",
        "value",
        "0",
        "x",
        "",
    ]
)
forms = st.lists(
    st.tuples(
        st.lists(names | st.text(max_size=3), min_size=1, max_size=6).map(".".join), st.text(max_size=10)
    ),
    max_size=12,
)


def shape_of(name: str) -> Any:
    operation = model.operation(name)
    assert operation is not None
    return operation.input_shape


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(OPERATIONS), body=trees)
def test_any_tree_decodes_or_is_refused(name: str, body: Any) -> None:
    shape = shape_of(name)
    if shape is None:
        return
    outcome: Any
    try:
        outcome = from_tree(shape, body)
    except ApiError as err:
        outcome = err
    assert isinstance(outcome, dict) or outcome.status == 400


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(OPERATIONS), pairs=forms)
def test_any_query_form_decodes_or_is_refused(name: str, pairs: list[tuple[str, str]]) -> None:
    shape = shape_of(name)
    if shape is None:
        return
    outcome: Any
    try:
        outcome = from_query(shape, query_tree(pairs))
    except ApiError as err:
        outcome = err
    assert isinstance(outcome, dict) or outcome.status == 400


def test_query_lists_and_maps_follow_the_model() -> None:
    tree = query_tree(
        [
            ("Namespace", "App"),
            ("MetricData.member.2.MetricName", "b"),
            ("MetricData.member.2.Value", "2"),
            ("MetricData.member.1.MetricName", "a"),
            ("MetricData.member.1.Values.member.1", "1.5"),
            ("MetricData.member.1.Timestamp", "2026-12-07T10:00:00Z"),
            ("MetricData.member.1.Dimensions", ""),
        ]
    )
    assert from_query(shape_of("PutMetricData"), tree) == {
        "Namespace": "App",
        "MetricData": [
            {"MetricName": "a", "Values": [1.5], "Timestamp": 1796637600.0, "Dimensions": []},
            {"MetricName": "b", "Value": 2.0},
        ],
    }


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (1.5, 1.5),
        (2, 2.0),
        ("2026-12-07T10:00:00Z", 1796637600.0),
        ("2026-12-07T10:00:00", 1796637600.0),
        ("1796637600", 1796637600.0),
        ("2026-12-07T12:00:00+02:00", 1796637600.0),
    ],
)
def test_timestamps_in_every_form(value: Any, seconds: float) -> None:
    assert epoch(value, "StartTime") == seconds


@pytest.mark.parametrize("value", ["yesterday", True, float("inf"), [1]])
def test_what_is_not_a_timestamp_is_refused(value: Any) -> None:
    with pytest.raises(ApiError):
        epoch(value, "StartTime")


@pytest.mark.parametrize("value", [10**400, "1e999", float("nan")])
def test_numbers_no_float_holds_are_refused(value: Any) -> None:
    with pytest.raises(ApiError, match="must be a finite number"):
        epoch(value, "StartTime")
    if isinstance(value, int):
        body = {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": value}]}
        with pytest.raises(ApiError, match=r"MetricData\.member\.1\.Value must be a finite number"):
            from_tree(shape_of("PutMetricData"), body)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_cbor_floats_no_cloudwatch_number_takes_are_refused(value: float) -> None:
    body = {"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": value}]}
    with pytest.raises(ApiError, match=r"MetricData\.member\.1\.Value must be a finite number"):
        from_tree(shape_of("PutMetricData"), body)
