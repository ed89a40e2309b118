"""The CloudWatch Logs operations this server answers, by wire name (the edge's ``logs`` service)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentrail.context import Call
from opentrail.streams.logs import batches, filters, groups, reads, retention, search, streams, tags

EVENT_SOURCE = "logs.amazonaws.com"
TARGET_PREFIX = "Logs_20140328."

OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    **groups.OPERATIONS,
    **streams.OPERATIONS,
    **batches.OPERATIONS,
    **reads.OPERATIONS,
    **search.OPERATIONS,
    **retention.OPERATIONS,
    **tags.OPERATIONS,
    **filters.OPERATIONS,
}
