"""CloudWatch Logs filter patterns: ``compile_pattern`` a pattern once, then ask ``matches``, ``extract``
and ``value`` of each log event, or ``PatternSet.matching`` for many patterns at once. ``parse`` and
``matches`` are the lower level: the nodes, and the reference evaluator the compiled one agrees with."""

from opentrail.streams.patterns.match import matches
from opentrail.streams.patterns.parse import parse
from opentrail.streams.patterns.pattern import FilterPattern, PatternSet, compile_pattern

__all__ = ["FilterPattern", "PatternSet", "compile_pattern", "matches", "parse"]
