"""GetMetricData: several metrics' statistics (``MetricStat``) and metric math over them
(``Expression``, see ``expressions.py``) in one call, paginated by datapoints.

- Ids: ``^[a-z][a-zA-Z0-9_]*$``, unique; each query has exactly one of MetricStat and Expression; at most
  500 queries. Errors are CloudWatch's ``ValidationError``.
- A MetricStat's start is rounded down to a multiple of its period (when the period divides an hour,
  else to the minute), as CloudWatch aligns GetMetricData; high-resolution periods (under 60) answer
  only for a StartTime within 3 hours. Without ``Unit``, every unit's seconds are taken together.
- ``ScanBy`` TimestampDescending (the default) lists newest first. ``MaxDatapoints`` (default 100,800)
  bounds a page; ``NextToken`` carries on where it stopped, a result cut short is ``PartialData``.
- ``ReturnData`` false computes a query (for expressions) without returning it. The default ``Label``
  is the metric name (MetricStat) or the id (Expression).
"""

from __future__ import annotations

import math
import re
from typing import Any

from opentrail.context import Call
from opentrail.streams.metrics import expressions
from opentrail.streams.metrics import validation as v
from opentrail.streams.metrics.retrieval import HIGH_RESOLUTION_WINDOW
from opentrail.streams.metrics.statistics import aggregate

__all__ = ["get_metric_data"]

MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
_ID = re.compile(r"[a-z][a-zA-Z0-9_]{0,254}")


def _checked(params: dict[str, Any]) -> list[dict[str, Any]]:
    queries = params.get("MetricDataQueries") or []
    if not queries:
        raise v.MissingParameter("The parameter MetricDataQueries is required.")
    if len(queries) > MAX_QUERIES:
        raise v.ValidationError(
            f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES}."
        )
    seen = set()
    for i, query in enumerate(queries, 1):
        where = f"MetricDataQueries.member.{i}"
        ident = query.get("Id")
        if not isinstance(ident, str) or not _ID.fullmatch(ident):
            raise v.ValidationError(
                f"The value {str(ident)[:64]} for parameter {where}.Id is invalid: it must start with a "
                "lowercase letter and contain only letters, numbers and underscores."
            )
        if ident in seen:
            raise v.ValidationError("The values for parameter id in MetricDataQueries are not unique.")
        seen.add(ident)
        if ("MetricStat" in query) == ("Expression" in query):
            raise v.ValidationError(
                f"Exactly one element of MetricStat and Expression must be specified in {where}."
            )
    if not any(q.get("ReturnData", True) for q in queries):
        raise v.ValidationError("At least one query of MetricDataQueries must have ReturnData true.")
    return list(queries)


def _stat_series(call: Call, query: dict[str, Any], where: str, start: float, end: float) -> dict[int, float]:
    stat = query["MetricStat"]
    key = v.metric_key(call.account, call.region, stat.get("Metric") or {}, f"{where}.MetricStat.Metric.")
    period = v.check_period(stat.get("Period"), f"{where}.MetricStat.Period", v.ValidationError)
    statistic = v.check_statistic(stat.get("Stat"), f"{where}.MetricStat.Stat", v.ValidationError)
    unit = v.check_unit(stat.get("Unit"), f"{where}.MetricStat.Unit")
    if period < 60 and call.now - start > HIGH_RESOLUTION_WINDOW:
        return {}
    step = period if 3600 % period == 0 else 60
    first = math.floor(start) - math.floor(start) % step
    last = math.ceil(end)
    samples = [s for s in call.store.metrics.samples(key, first, last) if unit is None or s.unit == unit]
    return dict(aggregate(samples, first, last, period, statistic))


def _evaluate(
    call: Call, queries: list[dict[str, Any]], start: float, end: float
) -> dict[str, dict[int, float]]:
    by_id = {q["Id"]: (i, q) for i, q in enumerate(queries, 1)}
    parsed = {q["Id"]: expressions.parse(str(q["Expression"]), q["Id"]) for q in queries if "Expression" in q}
    done: dict[str, dict[int, float]] = {}
    busy: set[str] = set()

    def resolve(ident: str) -> dict[int, float]:
        if ident in done:
            return done[ident]
        if ident not in by_id:
            raise v.ValidationError(f"Error in expression: unrecognized metric id {ident}.")
        if ident in busy:
            raise v.ValidationError(f"Error in expression {ident}: it refers to itself.")
        busy.add(ident)
        i, query = by_id[ident]
        if ident in parsed:
            # An overflow is no value CloudWatch could answer: those datapoints are left out.
            found = parsed[ident].evaluate(resolve, metrics)
            done[ident] = {t: x for t, x in found.items() if math.isfinite(x)}
        else:
            done[ident] = _stat_series(call, query, f"MetricDataQueries.member.{i}", start, end)
        return done[ident]

    def metrics(label: str | None) -> list[dict[int, float]]:
        return [
            resolve(q["Id"]) for q in queries if "MetricStat" in q and (label is None or label in _label(q))
        ]

    for query in queries:
        resolve(query["Id"])
    return done


def _label(query: dict[str, Any]) -> str:
    if query.get("Label"):
        return str(query["Label"])
    if "MetricStat" in query:
        return str((query["MetricStat"].get("Metric") or {}).get("MetricName", query["Id"]))
    return str(query["Id"])


def get_metric_data(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queries = _checked(params)
    for name in ("StartTime", "EndTime"):
        if params.get(name) is None:
            raise v.MissingParameter(f"The parameter {name} is required.")
    start, end = params["StartTime"], params["EndTime"]
    if end <= start:
        raise v.ValidationError("The parameter EndTime must be greater than StartTime.")
    scan = params.get("ScanBy", "TimestampDescending")
    if scan not in ("TimestampDescending", "TimestampAscending"):
        raise v.ValidationError(f"The value {str(scan)[:64]} for parameter ScanBy is invalid.")
    limit = params.get("MaxDatapoints", DEFAULT_MAX_DATAPOINTS)
    if not isinstance(limit, int) or limit < 1:
        raise v.ValidationError(
            f"The value {limit} for parameter MaxDatapoints is invalid: must be positive."
        )
    scope = v.paging_scope("GetMetricData", params)
    position = 0
    if params.get("NextToken") is not None:
        position = int(call.services.sealer.open(params["NextToken"], scope, v.InvalidNextToken))
    series = _evaluate(call, queries, start, end)
    results, position, more = _page(queries, series, scan == "TimestampDescending", position, limit)
    answer: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
    if more:
        answer["NextToken"] = call.services.sealer.seal(scope, position)
    return answer


def _page(
    queries: list[dict[str, Any]],
    series: dict[str, dict[int, float]],
    newest_first: bool,
    position: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int, bool]:
    """This page's results: datapoints ``position`` onwards of the returned queries taken in order, at
    most ``limit``; (results, where the next page starts, whether one does)."""
    results, before, taken = [], 0, 0
    for query in queries:
        if not query.get("ReturnData", True):
            continue
        points = sorted(series[query["Id"]].items(), reverse=newest_first)
        skip = min(max(position - before, 0), len(points))
        chunk = points[skip : skip + max(limit - taken, 0)]
        taken += len(chunk)
        before += len(points)
        complete = skip + len(chunk) == len(points)
        results.append(
            {
                "Id": query["Id"],
                "Label": _label(query),
                "Timestamps": [float(t) for t, _ in chunk],
                "Values": [x for _, x in chunk],
                "StatusCode": "Complete" if complete else "PartialData",
                "Messages": [],
            }
        )
    return results, position + taken, position + taken < before
