"""A metric filter's ``metricTransformations``, checked against the logs model and AWS's rules for the
pattern they go with.

- Exactly one transformation; ``metricName`` and ``metricNamespace`` 1-255 characters without ``:``,
  ``*`` or ``$``.
- ``metricValue``: a number, or a field the pattern names (``$.a.b`` for JSON patterns, ``$name`` or
  ``$1`` for space-delimited ones); a field needs a pattern that has fields.
- ``dimensions``: at most 3, values are fields; refused on term and empty patterns with AWS's "The
  specified filter pattern does not support dimensions", and not together with ``defaultValue``.
- ``unit``: one of CloudWatch's standard units.
"""

from __future__ import annotations

import math
import re
from typing import Any

from opentrail import params
from opentrail.errors import InvalidParameter
from opentrail.streams.logs.matching import CompiledPattern
from opentrail.streams.logs.requests import invalid, text

METRIC_NAME = re.compile(r"[^:*$]*")
FIELD = re.compile(r"\$(\.[^\s]+|[A-Za-z_][A-Za-z0-9_]*|[0-9]+)")
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
MAX_DIMENSIONS = 3
UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None",
)  # fmt: skip


def _metric_name(t: params.Params, member: str) -> str:
    value = params.string(t, member)
    if value is None:
        raise InvalidParameter(f"metricTransformations.1.member.{member} is required but was not provided")
    if not 1 <= len(value) <= 255 or not METRIC_NAME.fullmatch(value):
        raise invalid(
            value,
            f"metricTransformations.1.member.{member}",
            f"satisfy regular expression pattern: {METRIC_NAME.pattern}",
        )
    return value


def _field_allowed(value: str, pattern: CompiledPattern, member: str) -> None:
    if pattern.kind in ("empty", "term"):
        raise InvalidParameter(
            f"Invalid {member} {value!r}: a term pattern has no fields to read values from"
        )


def _metric_value(t: params.Params, pattern: CompiledPattern) -> str:
    value = params.string(t, "metricValue", max_len=100)
    if value is None:
        raise InvalidParameter("metricTransformations.1.member.metricValue is required but was not provided")
    if NUMBER.fullmatch(value):
        return value
    if not FIELD.fullmatch(value):
        raise InvalidParameter(
            f"Invalid metric value {value!r}: expected a number or a field such as $.a or $name"
        )
    _field_allowed(value, pattern, "metric value")
    return value


def _dimensions(t: params.Params, pattern: CompiledPattern) -> dict[str, str] | None:
    value = t.get("dimensions")
    if value is None:
        return None
    dimensions = params.structure(value, "dimensions")
    if not dimensions:
        return None
    if pattern.kind in ("empty", "term"):
        raise InvalidParameter("The specified filter pattern does not support dimensions")
    if len(dimensions) > MAX_DIMENSIONS:
        raise InvalidParameter(
            f"A metric filter can have at most {MAX_DIMENSIONS} dimensions, got {len(dimensions)}"
        )
    for key, value in dimensions.items():
        field = text(value, f"dimensions.{key}")
        if not 1 <= len(key) <= 255:
            raise invalid(key, "dimensions.key", "have length between 1 and 255")
        if len(field) > 255 or not FIELD.fullmatch(field):
            raise InvalidParameter(
                f"Invalid dimension value {field!r} for {key!r}: expected a field such as $.a or $name"
            )
    return dict(dimensions)


def _default_value(t: params.Params) -> float | None:
    value = t.get("defaultValue")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidParameter(f"defaultValue must be a number, got {value!r}")
    return float(value)


def checked_transformations(value: Any, pattern: CompiledPattern) -> list[dict[str, Any]]:
    """The transformations as stored and described (members in the model's order, absent ones left out)."""
    items = params.array({"metricTransformations": value}, "metricTransformations", required=True) or []
    if len(items) != 1:
        raise invalid(f"{len(items)} transformations", "metricTransformations", "have length between 1 and 1")
    t = params.structure(items[0], "metricTransformations.1")
    checked: dict[str, Any] = {
        "metricName": _metric_name(t, "metricName"),
        "metricNamespace": _metric_name(t, "metricNamespace"),
        "metricValue": _metric_value(t, pattern),
    }
    default = _default_value(t)
    dimensions = _dimensions(t, pattern)
    if default is not None and dimensions is not None:
        raise InvalidParameter("defaultValue cannot be specified together with dimensions")
    if default is not None:
        checked["defaultValue"] = default
    if dimensions is not None:
        checked["dimensions"] = dimensions
    unit = params.string(t, "unit")
    if unit is not None:
        if unit not in UNITS:
            raise invalid(
                unit, "metricTransformations.1.member.unit", f"satisfy enum value set: [{', '.join(UNITS)}]"
            )
        checked["unit"] = unit
    return [checked]
