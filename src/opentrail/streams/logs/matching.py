"""The one place the Logs API compiles a filter pattern (FilterLogEvents, PutMetricFilter,
TestMetricFilter): ``opentrail.streams.patterns.compile_pattern``, the whole language (term, JSON,
space-delimited and ``%regex%`` patterns) with its value extraction."""

from __future__ import annotations

from opentrail.streams.patterns import FilterPattern, compile_pattern

__all__ = ["CompiledPattern", "compile_filter"]

CompiledPattern = FilterPattern


def compile_filter(text: str) -> FilterPattern:
    """``text`` compiled, or ``InvalidFilterPattern`` (InvalidParameterException)."""
    return compile_pattern(text)
