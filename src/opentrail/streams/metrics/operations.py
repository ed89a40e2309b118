"""The CloudWatch metrics operations, by wire name (``streams/monitoring/operations.py`` serves them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentrail.context import Call
from opentrail.streams.metrics.listing import list_metrics
from opentrail.streams.metrics.publish import put_metric_data
from opentrail.streams.metrics.queries import get_metric_data
from opentrail.streams.metrics.retrieval import get_metric_statistics

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    "PutMetricData": put_metric_data,
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
}
