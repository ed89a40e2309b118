"""Metric datapoints at one-second resolution (CloudWatch's high-resolution metrics)."""

from __future__ import annotations

from opentrail.store.tables import Tables

__all__ = ["MetricTables"]


class MetricTables(Tables):
    """The metrics' tables."""
