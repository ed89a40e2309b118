"""Log groups, their streams and log events (CloudWatch Logs' role), and metric filters' definitions."""

from __future__ import annotations

from opentrail.store.tables import Tables

__all__ = ["LogTables"]


class LogTables(Tables):
    """The log groups' tables."""
