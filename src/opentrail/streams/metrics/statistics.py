"""Statistics over periods, computed from one-second ``Sample`` rows as CloudWatch reports them.

A period is ``[t, t + period)`` for ``t = start + k * period``: the caller passes ``start`` already
rounded as the API rounds it (GetMetricStatistics, GetMetricData and alarms each have their rule), so
the buckets begin there. A period with no sample has no datapoint: it is left out, never reported as 0
(CloudWatch's "missing data", which alarms treat by ``TreatMissingData``).

The statistics are CloudWatch's: ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum``, and the
percentiles ``pNN`` or ``pNN.NN`` (nearest rank over the values kept; a period whose samples kept no
values, because only statistic sets were put, has no percentile).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from opentrail.store.metrics import Sample

__all__ = ["STATISTICS", "aggregate", "is_percentile", "statistic_value"]

STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,2})?|100(?:\.0{1,2})?)")


def is_percentile(statistic: str) -> bool:
    """``p0``..``p100`` with up to two decimals (ExtendedStatistic's form)."""
    return _PERCENTILE.fullmatch(statistic) is not None


def aggregate(
    samples: Iterable[Sample], start: int, end: int, period: int, statistic: str
) -> list[tuple[int, float]]:
    """``(period start, value)`` for each period in ``[start, end)`` that has samples, oldest first."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period}")
    buckets: dict[int, list[Sample]] = {}
    for sample in samples:
        if start <= sample.second < end:
            bucket = start + (sample.second - start) // period * period
            buckets.setdefault(bucket, []).append(sample)
    found = []
    for bucket in sorted(buckets):
        value = statistic_value(buckets[bucket], statistic)
        if value is not None:
            found.append((bucket, value))
    return found


def statistic_value(samples: list[Sample], statistic: str) -> float | None:
    """One statistic over ``samples`` (one period's), or None when it cannot be had from them."""
    if not samples:
        return None
    count = math.fsum(s.count for s in samples)
    if statistic == "SampleCount":
        return count
    if statistic == "Sum":
        return math.fsum(s.total for s in samples)
    if statistic == "Average":
        return math.fsum(s.total for s in samples) / count if count else None
    if statistic == "Minimum":
        return min(s.minimum for s in samples)
    if statistic == "Maximum":
        return max(s.maximum for s in samples)
    if is_percentile(statistic):
        values = sorted(v for s in samples for v in s.values)
        if not values:
            return None
        rank = math.ceil(float(statistic[1:]) / 100 * len(values))
        return values[max(rank, 1) - 1]
    raise ValueError(f"unknown statistic {statistic!r}")
