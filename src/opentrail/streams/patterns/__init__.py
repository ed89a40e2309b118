"""CloudWatch Logs filter patterns: ``parse`` a pattern once, then ask ``matches`` of each log event."""

from opentrail.streams.patterns.match import matches
from opentrail.streams.patterns.parse import parse

__all__ = ["matches", "parse"]
