"""Metric alarms' state and their history (CloudWatch's DescribeAlarmHistory)."""

from __future__ import annotations

from opentrail.store.tables import Tables

__all__ = ["AlarmTables"]


class AlarmTables(Tables):
    """The alarms' tables."""
