"""PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter and TestMetricFilter: the definitions
the metric-filter consumer turns log events into datapoints with (at most 100 per group, as AWS)."""

from __future__ import annotations

import re
from typing import Any

from opentrail import params
from opentrail.clock import to_millis
from opentrail.context import Call
from opentrail.errors import InvalidParameter, LimitExceeded, ResourceNotFound
from opentrail.store.logs import MetricFilter
from opentrail.streams.logs import pages
from opentrail.streams.logs.matching import compile_filter
from opentrail.streams.logs.requests import (
    GROUP_NOT_FOUND,
    existing_group,
    group_name,
    invalid,
    limit,
    name,
    text,
    touch_group,
    typed,
)
from opentrail.streams.logs.transformations import checked_transformations

FILTER_NAME = re.compile(r"[^:*]*")
MAX_FILTERS = 100
MAX_PATTERN = 1024
MAX_TEST_MESSAGES = 50


def _pattern_text(p: params.Params) -> str:
    text = params.string(p, "filterPattern", max_len=MAX_PATTERN)
    if text is None:
        raise InvalidParameter("filterPattern is required but was not provided")
    return text


def put_metric_filter(call: Call, p: params.Params) -> dict[str, Any]:
    group = group_name(p)
    filter_name = name(p.get("filterName"), "filterName", FILTER_NAME)
    text = _pattern_text(p)
    transformations = checked_transformations(p.get("metricTransformations"), compile_filter(text))
    typed(p, fieldSelectionCriteria="string", emitSystemFieldDimensions="strings")
    if params.boolean(p, "applyOnTransformedLogs"):
        raise InvalidParameter("applyOnTransformedLogs is not supported by this server")
    row = MetricFilter(
        call.account, call.region, group, filter_name, text, transformations, to_millis(call.now)
    )
    try:
        stored = call.store.logs.put_metric_filter(row, limit=MAX_FILTERS)
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    if not stored:
        raise LimitExceeded(
            f"Resource limit exceeded: a log group can have at most {MAX_FILTERS} metric filters"
        )
    touch_group(call, group)
    return {}


def _described(f: MetricFilter) -> dict[str, Any]:
    return {
        "filterName": f.name,
        "filterPattern": f.pattern,
        "metricTransformations": f.transformations,
        "creationTime": f.created,
        "logGroupName": f.group,
        "applyOnTransformedLogs": False,
    }


def _wanted(p: params.Params) -> tuple[str | None, str | None, str | None, str | None]:
    group = None if p.get("logGroupName") is None else group_name(p)
    prefix = (
        None
        if p.get("filterNamePrefix") is None
        else name(p["filterNamePrefix"], "filterNamePrefix", FILTER_NAME)
    )
    if prefix is not None and group is None:
        raise InvalidParameter("filterNamePrefix requires logGroupName.")
    metric, namespace = (
        params.string(p, "metricName", max_len=255),
        params.string(p, "metricNamespace", max_len=255),
    )
    if (metric is None) != (namespace is None):
        raise InvalidParameter("metricName and metricNamespace must be specified together.")
    return group, prefix, metric, namespace


def describe_metric_filters(call: Call, p: params.Params) -> dict[str, Any]:
    group, prefix, metric, namespace = _wanted(p)
    count = limit(p, "limit", 50, 50)
    scope = pages.scope("DescribeMetricFilters", call, [group, prefix, metric, namespace])
    after = pages.position(call, p, scope)
    if group is not None:
        existing_group(call, group)
    listed = [
        f
        for f in call.store.logs.metric_filters(call.account, call.region, group)
        if (prefix is None or f.name.startswith(prefix))
        and (metric is None or any(
            t["metricName"] == metric and t["metricNamespace"] == namespace for t in f.transformations
        ))
        and (after is None or [f.group, f.name] > after)
    ]  # fmt: skip
    result: dict[str, Any] = {"metricFilters": [_described(f) for f in listed[:count]]}
    if len(listed) > count:
        last = listed[count - 1]
        result["nextToken"] = pages.token(call, scope, [last.group, last.name])
    return result


def delete_metric_filter(call: Call, p: params.Params) -> dict[str, Any]:
    group = group_name(p)
    filter_name = name(p.get("filterName"), "filterName", FILTER_NAME)
    try:
        deleted = call.store.logs.delete_metric_filter(call.account, call.region, group, filter_name)
    except KeyError:
        raise ResourceNotFound(GROUP_NOT_FOUND) from None
    if not deleted:
        raise ResourceNotFound("The specified metric filter does not exist.")
    touch_group(call, group)
    return {}


def test_metric_filter(call: Call, p: params.Params) -> dict[str, Any]:
    pattern = compile_filter(_pattern_text(p))
    messages = params.array(p, "logEventMessages", required=True) or []
    if not 1 <= len(messages) <= MAX_TEST_MESSAGES:
        raise invalid(
            f"{len(messages)} messages", "logEventMessages", f"have length between 1 and {MAX_TEST_MESSAGES}"
        )
    matches = []
    for number, message in enumerate(messages, 1):
        if not text(message, f"logEventMessages.{number}"):
            raise invalid(message, f"logEventMessages.{number}", "have length greater than or equal to 1")
        extracted = pattern.extract(message)
        if extracted is not None:
            matches.append({"eventNumber": number, "eventMessage": message, "extractedValues": extracted})
    return {"matches": matches}


OPERATIONS = {
    "PutMetricFilter": put_metric_filter,
    "DescribeMetricFilters": describe_metric_filters,
    "DeleteMetricFilter": delete_metric_filter,
    "TestMetricFilter": test_metric_filter,
}
