"""What a log group's metric filters publish for one event (``GroupFilters.points``): the filters the
event matches publish their value, a filter with a defaultValue publishes it for an event it does not
match, the others nothing, and no filter counts an event ingested before it was created."""

from __future__ import annotations

import json

from opentrail.store.logs import LogEvent
from opentrail.store.metrics import MetricKey
from opentrail.streams.metric_filters.transform import compile_filter
from opentrail.streams.metric_filters.worker import GroupFilters
from opentrail.streams.patterns import PatternSet

ACCOUNT, REGION, GROUP = "123456789012", "us-east-1", "g"


def group(*filters: tuple[str, str, dict[str, object], int]) -> GroupFilters:
    compiled = [
        compile_filter(
            ACCOUNT, REGION, GROUP, name, pattern, {"metricNamespace": "N", "metricName": name} | t
        )
        for name, pattern, t, _ in filters
    ]
    defaults = frozenset(i for i, f in enumerate(compiled) if f.default is not None)
    return GroupFilters(
        compiled, [c for *_, c in filters], PatternSet([f.pattern for f in compiled]), defaults
    )


def event(message: dict[str, object], ingested: int = 5_000) -> LogEvent:
    return LogEvent(1, ACCOUNT, REGION, GROUP, "s", 7_250, ingested, json.dumps(message))


def key(name: str) -> MetricKey:
    return MetricKey(ACCOUNT, REGION, "N", name, ())


FILTERS = group(
    ("Runs", '{ $.eventName = "RunInstances" }', {"metricValue": "1"}, 0),
    ("Denied", '{ $.errorCode = "AccessDenied" }', {"metricValue": "1", "defaultValue": 0}, 0),
    ("Count", '{ $.eventName = "RunInstances" }', {"metricValue": "$.count"}, 0),
    ("Later", '{ $.eventName = "RunInstances" }', {"metricValue": "1"}, 6_000),
)


def test_matched_filters_publish_their_value_and_defaults_fill_in() -> None:
    points = FILTERS.points(event({"eventName": "RunInstances", "count": 3}))
    assert points == [
        (key("Runs"), 7, 1.0, "None"),
        (key("Denied"), 7, 0.0, "None"),
        (key("Count"), 7, 3.0, "None"),
    ]


def test_an_event_that_matches_nothing_publishes_only_the_defaults() -> None:
    assert FILTERS.points(event({"eventName": "DescribeInstances"})) == [(key("Denied"), 7, 0.0, "None")]
    assert FILTERS.points(event({"errorCode": "AccessDenied"})) == [(key("Denied"), 7, 1.0, "None")]


def test_a_filter_counts_the_events_ingested_after_it_was_created() -> None:
    names = {p[0].name for p in FILTERS.points(event({"eventName": "RunInstances"}, ingested=6_000))}
    assert names == {"Runs", "Denied", "Later"}  # Count: no $.count in the event


def test_without_defaults_an_unmatched_event_publishes_nothing() -> None:
    plain = group(("Runs", '{ $.eventName = "RunInstances" }', {"metricValue": "1"}, 0))
    assert plain.points(event({"eventName": "StopInstances"})) == []
