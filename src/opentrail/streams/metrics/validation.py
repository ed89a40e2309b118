"""CloudWatch's rules on what names a metric and on periods, with its error names and texts (the
parameter named as the query protocol names it, ``MetricData.member.1.Dimensions``, whatever protocol
the call came in, as CloudWatch does).

Errors are the model's error shapes: ``InvalidParameterValueException`` (InvalidParameterValue),
``InvalidParameterCombinationException``, ``MissingRequiredParameterException`` (MissingParameter),
``ValidationException`` (ValidationError, GetMetricData's), ``InvalidNextToken``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from opentrail.errors import api_error
from opentrail.store.metrics import MetricKey
from opentrail.streams.metrics.statistics import STATISTICS, is_percentile
from opentrail.streams.monitoring import model
from opentrail.tokens import query_fingerprint

__all__ = [
    "InvalidNextToken",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "MissingParameter",
    "ValidationError",
    "check_period",
    "check_statistic",
    "check_unit",
    "metric_key",
    "paging_scope",
]

InvalidParameterValue = api_error("InvalidParameterValueException")
InvalidParameterCombination = api_error("InvalidParameterCombinationException")
MissingParameter = api_error("MissingRequiredParameterException")
ValidationError = api_error("ValidationException")
InvalidNextToken = api_error("InvalidNextToken")

MAX_DIMENSIONS = 30
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)
# "alphanumeric characters (0-9A-Za-z), period, hyphen, underscore, forward slash, hash, colon, and the
# space character" (CloudWatch concepts: namespaces).
_NAMESPACE = re.compile(r"[0-9A-Za-z._/#: -]+")


def _name(value: Any, where: str, limit: int = 255) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not value.strip():
        raise InvalidParameterValue(
            f"The parameter {where} must be between 1 and {limit} characters and not blank."
        )
    if not (value.isascii() and value.isprintable()):
        raise InvalidParameterValue(f"The parameter {where} must contain only printable ASCII characters.")
    return value


def namespace(value: Any, where: str = "Namespace", publishing: bool = False) -> str:
    """A namespace; one that is published to may not begin with ``AWS/`` (AWS's own) and takes only
    the characters CloudWatch documents for namespaces."""
    text = _name(value, where)
    if text.startswith(":") or (publishing and (text.startswith("AWS/") or not _NAMESPACE.fullmatch(text))):
        raise InvalidParameterValue(f"The value {text} for parameter {where} is invalid.")
    return text


def dimensions(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """A metric's dimensions, sorted by name: at most 30, names unique."""
    items = value or []
    if len(items) > MAX_DIMENSIONS:
        raise InvalidParameterValue(
            f"The collection {where} must not have a size greater than {MAX_DIMENSIONS}."
        )
    pairs: dict[str, str] = {}
    for i, dimension in enumerate(items, 1):
        name = _name(dimension.get("Name"), f"{where}.member.{i}.Name")
        if name in pairs:
            raise InvalidParameterValue(f"No metric may have duplicate dimension names ({name} in {where}).")
        pairs[name] = _name(dimension.get("Value"), f"{where}.member.{i}.Value", 1024)
    return tuple(sorted(pairs.items()))


def metric_key(account: str, region: str, metric: dict[str, Any], where: str = "") -> MetricKey:
    """The metric a ``Metric`` structure (or GetMetricStatistics' own members) names."""
    return MetricKey(
        account,
        region,
        namespace(metric.get("Namespace"), f"{where}Namespace"),
        _name(metric.get("MetricName"), f"{where}MetricName"),
        dimensions(metric.get("Dimensions"), f"{where}Dimensions"),
    )


def metric_name(value: Any, where: str) -> str:
    return _name(value, where)


def check_unit(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if value not in units():
        raise InvalidParameterValue(
            f"The value {str(value)[:64]} for parameter {where} is invalid: must be one of "
            f"{', '.join(units())}."
        )
    return str(value)


@functools.cache
def units() -> tuple[str, ...]:
    """The model's StandardUnit enum."""
    shape: Any = model.service().shape_for("StandardUnit")
    return tuple(shape.enum)


def check_period(value: Any, where: str = "Period", error: type = InvalidParameterValue) -> int:
    """1, 5, 10, 30, 60 or a multiple of 60 (CloudWatch's periods)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise error(f"The parameter {where} must be a positive integer, got {value!r}.")
    if value not in HIGH_RESOLUTION_PERIODS and value % 60:
        raise error(f"The parameter {where} must be 1, 5, 10, 30, 60, or any multiple of 60, got {value}.")
    return value


def check_statistic(value: Any, where: str, error: type = InvalidParameterValue) -> str:
    """A statistic CloudWatch computes: one of the five, or a percentile ``pNN`` / ``pNN.NN``."""
    if isinstance(value, str) and (value in STATISTICS or is_percentile(value)):
        return value
    raise error(
        f"The value {str(value)[:64]} for parameter {where} is invalid: expected one of "
        f"{', '.join(STATISTICS)} or a percentile p0 to p100 (at most two decimals)."
    )


def paging_scope(operation: str, params: dict[str, Any]) -> str:
    """What a NextToken of ``operation`` is bound to: the call's parameters but the token."""
    return (
        f"monitoring:{operation}:{query_fingerprint({k: v for k, v in params.items() if k != 'NextToken'})}"
    )
