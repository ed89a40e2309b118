"""The CloudWatch operations this server answers, by wire name: each takes the call and its parameters
in the plain form ``params`` decodes to, and returns its result in that form (``results`` renders it
per protocol): the metrics' operations and the alarms'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentrail.context import Call
from opentrail.streams.alarms import operations as alarms
from opentrail.streams.metrics import operations as metrics

__all__ = ["OPERATIONS", "Operation"]

Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    **metrics.OPERATIONS,
    **alarms.OPERATIONS,
}
