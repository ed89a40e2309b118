"""Log groups, their streams and log events (CloudWatch Logs' role), and metric filters' definitions.

``store.logs`` is one ``LogTables``; its methods are grouped by concept in this package's modules:
``groups`` (log groups, retention's purge), ``streams``, ``events`` (appends under one global
sequence and the reads consumers and the API make) and ``filters`` (metric filters). Rows are the
frozen values of ``rows``; times are epoch milliseconds, as the API carries them.
"""

from __future__ import annotations

from opentrail.store.logs.events import EVENT_OVERHEAD, EventTables, Position
from opentrail.store.logs.filters import FilterTables
from opentrail.store.logs.groups import GroupTables
from opentrail.store.logs.rows import LogEvent, LogGroup, LogStream, MetricFilter, group_arn
from opentrail.store.logs.streams import StreamTables

__all__ = [
    "EVENT_OVERHEAD",
    "LogEvent",
    "LogGroup",
    "LogStream",
    "LogTables",
    "MetricFilter",
    "Position",
    "group_arn",
]


class LogTables(GroupTables, StreamTables, EventTables, FilterTables):
    """The log groups' tables."""
