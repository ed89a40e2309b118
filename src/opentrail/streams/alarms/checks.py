"""PutMetricAlarm's members checked as CloudWatch checks them, into the configuration an alarm keeps.

Errors are the ``cloudwatch`` model's shapes: ``ValidationException`` (query code ``ValidationError``)
for a member outside its modelled bounds or enum, with the AWS validation text; ``MissingRequired
ParameterException`` (``MissingParameter``); ``InvalidParameterCombinationException``;
``InvalidParameterValueException``. What OpenTrail does not do is refused, never silently accepted:

- metric math: an alarm's ``Metrics`` may only hold ``MetricStat`` queries (one returning data), of
  the caller's own metrics (no ``AccountId``);
  ``Expression`` queries, and so anomaly detection (``ThresholdMetricId`` and the three band operators),
  are refused with InvalidParameterValue;
- actions other than SNS topic ARNs in the alarm's region (EC2, Auto Scaling, Systems Manager, Lambda
  actions) are refused with InvalidParameterValue. As CloudWatch, the topic is not looked up when the
  alarm is put: a webhook topic is used only by its own account, and a topic on SNS only if its policy
  lets ``cloudwatch.amazonaws.com`` publish for the alarm (``delivery/notifications.py``);
- the newer members ``EvaluationWindow``, ``WarmUpConfiguration``, ``EvaluationCriteria``,
  ``EvaluationInterval`` and ``ActionConfiguration``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from opentrail.errors import ApiError, api_error
from opentrail.streams.metrics.statistics import STATISTICS, is_percentile

__all__ = [
    "COMPARISONS",
    "UNITS",
    "alarm_name",
    "configuration",
    "dimensions",
    "invalid",
    "missing",
    "tags",
    "validation",
]

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
)
BAND_COMPARISONS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
)  # fmt: skip
TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
MAX_ACTIONS = 5
MAX_DIMENSIONS = 30
MAX_TAGS = 50
ONE_DAY = 86_400
SEVEN_DAYS = 604_800
UNSUPPORTED = (
    "EvaluationWindow",
    "WarmUpConfiguration",
    "EvaluationCriteria",
    "EvaluationInterval",
    "ActionConfiguration",
)
_SNS_ARN = re.compile(r"arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,251}(?:\.fifo)?)")
_METRIC_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def validation(message: str) -> ApiError:
    return api_error("ValidationException")(message)


def invalid(message: str) -> ApiError:
    return api_error("InvalidParameterValueException")(message)


def missing(name: str) -> ApiError:
    return api_error("MissingRequiredParameterException")(f"The parameter {name} is required.")


def combination(message: str) -> ApiError:
    return api_error("InvalidParameterCombinationException")(message)


def _identity(p: dict[str, Any], name: str, high: int, where: str | None = None) -> str | None:
    """A member naming the alarm's metric (namespace, name, a dimension): no ASCII control characters,
    which no metric PutMetricData takes has (nor can PostgreSQL keep a NUL to look one up by)."""
    value = _text(p, name, 1, high, where)
    if value is not None and _CONTROL.search(value) is not None:
        raise invalid(f"The value of parameter {where or name} must not contain ASCII control characters.")
    return value


def _namespace(value: str, where: str = "Namespace") -> str:
    """A namespace as the model's pattern ``[^:].*`` allows it (PutMetricData's refusal and text)."""
    if value.startswith(":"):
        raise invalid(f"The value {value} for parameter {where} is invalid.")
    return value


def _field(name: str) -> str:
    return name[0].lower() + name[1:]


def _text(p: dict[str, Any], name: str, low: int, high: int, where: str | None = None) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"The parameter {name} must be a string.")
    at = where or _field(name)
    if len(value) < low:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {low}"
        )
    if len(value) > high:
        raise validation(
            f"1 validation error detected: Value '{value[:64]}' at '{at}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )
    return value


def _enum(p: dict[str, Any], name: str, allowed: tuple[str, ...], where: str | None = None) -> str | None:
    value = p.get(name)
    if value is not None and value not in allowed:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{where or _field(name)}' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return value


def _integer(p: dict[str, Any], name: str, low: int = 1) -> int | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"The parameter {name} must be an integer.")
    if value < low:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{_field(name)}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    return value


def alarm_name(p: dict[str, Any], name: str = "AlarmName") -> str:
    value = _text(p, name, 1, 255)
    if value is None:
        raise missing(name)
    # The model: "only UTF-8 characters, and can't contain ASCII control characters".
    if _CONTROL.search(value) is not None:
        raise invalid(f"The parameter {name} must not contain ASCII control characters.")
    return value


def dimensions(value: Any, where: str = "dimensions") -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_DIMENSIONS:
        raise validation(
            f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_DIMENSIONS}"
        )
    found: list[dict[str, str]] = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise invalid("Each of Dimensions must be a structure of Name and Value.")
        name = _identity(item, "Name", 255, f"{where}.{i}.member.name")
        text = _identity(item, "Value", 1024, f"{where}.{i}.member.value")
        if name is None or text is None:
            raise missing(f"Dimensions.member.{i}.{'Name' if name is None else 'Value'}")
        if any(d["Name"] == name for d in found):
            raise invalid(f"No Metric may specify the same dimension twice: {name}")
        found.append({"Name": name, "Value": text})
    return found


def _actions(p: dict[str, Any], name: str, region: str) -> list[str]:
    value = p.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ACTIONS:
        raise validation(
            f"1 validation error detected: Value at '{_field(name)}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ACTIONS}"
        )
    for arn in value:
        match = _SNS_ARN.fullmatch(arn) if isinstance(arn, str) else None
        if match is None or match.group(1) != region:
            raise invalid(
                f"Invalid action {arn!r} in {name}: OpenTrail supports SNS topic actions only, in the "
                f"alarm's region (arn:aws:sns:{region}:<account>:<topic>)"
            )
    return list(value)


def tags(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise invalid(f"Tags must be a list of at most {MAX_TAGS} tags.")
    found: dict[str, str] = {}
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise invalid("Each of Tags must be a structure of Key and Value.")
        key = _text(item, "Key", 1, 128, f"tags.{i}.member.key")
        text = _text(item, "Value", 0, 256, f"tags.{i}.member.value")
        if key is None or text is None:
            raise missing(f"Tags.member.{i}.{'Key' if key is None else 'Value'}")
        found[key] = text
    return [{"Key": k, "Value": v} for k, v in found.items()]


def _period(value: int, name: str = "Period") -> int:
    if value not in (10, 20, 30) and value % 60 != 0:
        raise invalid(f"The parameter {name} must be 10, 20, 30 or a multiple of 60.")
    return value


def _metrics(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise invalid("Metrics must be a non-empty list of metric data queries.")
    queries = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise invalid("Each of Metrics must be a metric data query structure.")
        ident = _text(item, "Id", 1, 255, f"metrics.{i}.member.id")
        if ident is None:
            raise missing(f"Metrics.member.{i}.Id")
        if _METRIC_ID.fullmatch(ident) is None:
            raise invalid(
                f"The value {ident} for parameter Metrics.member.{i}.Id is not valid: it must start "
                "with a lowercase letter and hold only letters, digits and underscores."
            )
        if item.get("AccountId") is not None:  # else silently an alarm on the caller's own metric
            raise invalid(
                f"Metrics.member.{i}.AccountId: cross-account alarms are not supported by OpenTrail."
            )
        if item.get("Expression") is not None:
            raise invalid(
                "Metric math expressions are not supported by OpenTrail: an alarm's Metrics may only "
                "hold MetricStat queries."
            )
        queries.append(_metric_query(item, i))
    if len({q["Id"] for q in queries}) != len(queries):
        raise invalid("The Id of each of Metrics must be unique.")
    if sum(bool(q["ReturnData"]) for q in queries) != 1:
        raise validation("Exactly one element of the metrics list should return data.")
    return queries


def _metric_query(item: dict[str, Any], i: int) -> dict[str, Any]:
    stat = item.get("MetricStat")
    if not isinstance(stat, dict):
        raise missing(f"Metrics.member.{i}.MetricStat")
    metric = stat.get("Metric")
    if not isinstance(metric, dict) or not metric.get("MetricName") or not metric.get("Namespace"):
        raise missing(f"Metrics.member.{i}.MetricStat.Metric")
    name = _identity(metric, "MetricName", 255)
    namespace = _namespace(
        str(_identity(metric, "Namespace", 255)), f"Metrics.member.{i}.MetricStat.Metric.Namespace"
    )
    period = _integer(stat, "Period")
    statistic = stat.get("Stat")
    if period is None or statistic is None:
        raise missing(f"Metrics.member.{i}.MetricStat.{'Period' if period is None else 'Stat'}")
    if statistic not in STATISTICS and not (isinstance(statistic, str) and is_percentile(statistic)):
        raise invalid(
            f"The value {statistic} for parameter Metrics.member.{i}.MetricStat.Stat is not supported."
        )
    out_metric: dict[str, Any] = {"Namespace": namespace, "MetricName": name}
    out_metric["Dimensions"] = dimensions(
        metric.get("Dimensions"), f"metrics.{i}.member.metricStat.metric.dimensions"
    )
    out_stat: dict[str, Any] = {"Metric": out_metric, "Period": _period(period), "Stat": statistic}
    unit = _enum(stat, "Unit", UNITS)
    if unit is not None:
        out_stat["Unit"] = unit
    query: dict[str, Any] = {
        "Id": item["Id"],
        "MetricStat": out_stat,
        "ReturnData": item.get("ReturnData", True),
    }
    if item.get("Label") is not None:
        query["Label"] = str(item["Label"])
    return query


def _single_metric(p: dict[str, Any], config: dict[str, Any]) -> None:
    """The members of an alarm on one metric (no ``Metrics``)."""
    for name in ("MetricName", "Namespace"):
        value = _identity(p, name, 255)
        if value is None:
            raise missing(name)
        config[name] = _namespace(value) if name == "Namespace" else value
    stat, extended = _enum(p, "Statistic", STATISTICS), p.get("ExtendedStatistic")
    if stat is not None and extended is not None:
        raise combination("Statistic and ExtendedStatistic cannot both be specified.")
    if stat is None and extended is None:
        raise missing("Statistic or ExtendedStatistic")
    if extended is not None and not (isinstance(extended, str) and is_percentile(extended)):
        raise invalid(f"The value {extended} for parameter ExtendedStatistic is not supported.")
    config["Statistic" if stat is not None else "ExtendedStatistic"] = stat or extended
    config["Dimensions"] = dimensions(p.get("Dimensions"))
    period = _integer(p, "Period")
    if period is None:
        raise missing("Period")
    config["Period"] = _period(period)
    unit = _enum(p, "Unit", UNITS)
    if unit is not None:
        config["Unit"] = unit


def _evaluation(p: dict[str, Any], config: dict[str, Any], period: int, percentile: bool) -> None:
    n = _integer(p, "EvaluationPeriods")
    if n is None:
        raise missing("EvaluationPeriods")
    limit = SEVEN_DAYS if period >= 3600 else ONE_DAY
    if n * period > limit:
        span = "7 days" if limit == SEVEN_DAYS else "a day"
        raise validation(
            f"Metrics cannot be checked across more than {span} "
            f"(EvaluationPeriods * Period must be <= {limit})"
        )
    config["EvaluationPeriods"] = n
    m = _integer(p, "DatapointsToAlarm")
    if m is not None:
        if m > n:
            raise validation("DatapointsToAlarm must be less than or equal to EvaluationPeriods.")
        config["DatapointsToAlarm"] = m
    treat = _text(p, "TreatMissingData", 1, 255)
    if treat is not None:
        if treat not in TREATMENTS:
            raise invalid(f"The value {treat} for parameter TreatMissingData is not supported.")
        config["TreatMissingData"] = treat
    low = _text(p, "EvaluateLowSampleCountPercentile", 1, 255)
    if low is not None:
        if low not in ("evaluate", "ignore"):
            raise invalid(f"The value {low} for parameter EvaluateLowSampleCountPercentile is not supported.")
        if not percentile:
            raise combination(
                "EvaluateLowSampleCountPercentile can only be used with a percentile statistic."
            )
        config["EvaluateLowSampleCountPercentile"] = low


def _threshold(p: dict[str, Any], config: dict[str, Any]) -> None:
    if p.get("ThresholdMetricId") is not None:
        raise invalid("Anomaly detection alarms (ThresholdMetricId) are not supported by OpenTrail.")
    operator = _enum(p, "ComparisonOperator", COMPARISONS + BAND_COMPARISONS)
    if operator is None:
        raise missing("ComparisonOperator")
    if operator in BAND_COMPARISONS:
        raise combination(f"ComparisonOperator {operator} is only valid with ThresholdMetricId.")
    threshold = p.get("Threshold")
    if threshold is None:
        raise missing("Threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
        raise invalid("The parameter Threshold must be a finite number.")
    config.update(ComparisonOperator=operator, Threshold=float(threshold))


def configuration(p: dict[str, Any], region: str) -> dict[str, Any]:
    """PutMetricAlarm's configuration members, checked, as the alarm keeps them (no state, no times)."""
    for name in UNSUPPORTED:
        if p.get(name) is not None:
            raise invalid(f"The parameter {name} is not supported by OpenTrail.")
    config: dict[str, Any] = {"AlarmName": alarm_name(p)}
    description = _text(p, "AlarmDescription", 0, 1024)
    if description is not None:
        config["AlarmDescription"] = description
    enabled = p.get("ActionsEnabled", True)
    if not isinstance(enabled, bool):
        raise invalid("The parameter ActionsEnabled must be a boolean.")
    config["ActionsEnabled"] = enabled
    for name in ("OKActions", "AlarmActions", "InsufficientDataActions"):
        config[name] = _actions(p, name, region)
    if p.get("Metrics") is not None:
        single = [
            n
            for n in (
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
            )
            if p.get(n)
        ]
        if single:
            raise combination(f"The parameters Metrics and {', '.join(single)} are mutually exclusive.")
        config["Metrics"] = _metrics(p["Metrics"])
        stat = next(q["MetricStat"] for q in config["Metrics"] if q["ReturnData"])
        period, percentile = stat["Period"], is_percentile(stat["Stat"])
    else:
        _single_metric(p, config)
        period, percentile = config["Period"], "ExtendedStatistic" in config
    _evaluation(p, config, period, percentile)
    _threshold(p, config)
    return config
