"""Metric datapoints at one-second resolution (CloudWatch's high-resolution metrics).

A metric is named by a ``MetricKey``; what is kept of it is one ``Sample`` per second: the statistic set
of every value put in that second (count, sum, minimum, maximum) and, for percentiles, the values
themselves up to a bound. Longer periods are computed from these when read
(``streams/metrics/statistics.py``), so a 10-second alarm and a one-hour GetMetricStatistics read the
same rows.

How rows are kept (``metric_samples``, one per metric and second; ``metric_keys``, one per metric):

- ``put`` merges what it is given into the stored second: counts and sums add, minimum and maximum
  hold, the unit is the last one put, and the values are appended while the second keeps at most
  ``MAX_VALUES`` of them (a put whose values would pass the bound keeps its statistics but not its
  values: percentiles then come from the first values of that second).
- Concurrent puts to one second lose nothing: every merge is one ``INSERT ... ON CONFLICT DO UPDATE``
  (PostgreSQL locks the row; SQLite has one writer), rows taken in key order so two writers never wait
  on each other in opposite orders.
- ``purge_before`` removes seconds older than the retention window and the metrics left without any
  (the server's retention pass, ``OPENTRAIL_METRIC_RETENTION_DAYS``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from opentrail.store.tables import Tables, advance_cursor

__all__ = ["MAX_VALUES", "MetricKey", "MetricTables", "Sample"]

# The values one metric keeps for one second, for percentiles. A metric filter on a busy log group
# matches thousands of events a second: past this, the second keeps its statistic set only.
MAX_VALUES = 1000


@dataclass(frozen=True, slots=True)
class MetricKey:
    """One metric: CloudWatch names it by namespace, name and its dimensions (sorted by name)."""

    account: str
    region: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Sample:
    """The values put to one metric in one second (``second``: epoch seconds)."""

    second: int
    count: float
    total: float
    minimum: float
    maximum: float
    unit: str = "None"
    # The values themselves, for percentiles; empty when only a statistic set was put.
    values: tuple[float, ...] = ()


_KEY = "account, region, namespace, name, dimensions"
_SAMPLE = "second, count, total, minimum, maximum, unit, vals"

_PUT_SAMPLE = f"""INSERT INTO metric_samples
    ({_KEY}, second, count, total, minimum, maximum, unit, nvalues, vals)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT ({_KEY}, second) DO UPDATE SET
    count = metric_samples.count + excluded.count,
    total = metric_samples.total + excluded.total,
    minimum = CASE WHEN excluded.minimum < metric_samples.minimum
                   THEN excluded.minimum ELSE metric_samples.minimum END,
    maximum = CASE WHEN excluded.maximum > metric_samples.maximum
                   THEN excluded.maximum ELSE metric_samples.maximum END,
    unit = excluded.unit,
    vals = CASE WHEN excluded.nvalues = 0 OR metric_samples.nvalues + excluded.nvalues > {MAX_VALUES}
                THEN metric_samples.vals
                WHEN metric_samples.nvalues = 0 THEN excluded.vals
                ELSE metric_samples.vals || ',' || excluded.vals END,
    nvalues = CASE WHEN metric_samples.nvalues + excluded.nvalues > {MAX_VALUES}
                   THEN metric_samples.nvalues
                   ELSE metric_samples.nvalues + excluded.nvalues END"""

_PUT_KEY = f"""INSERT INTO metric_keys ({_KEY}, last_second) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT ({_KEY}) DO UPDATE SET last_second = excluded.last_second
WHERE excluded.last_second > metric_keys.last_second"""


def encode_dimensions(dimensions: tuple[tuple[str, str], ...]) -> str:
    return msgspec.json.encode([list(pair) for pair in sorted(dimensions)]).decode()


def decode_dimensions(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in msgspec.json.decode(text))


def merge(first: Sample, second: Sample) -> Sample:
    """Two samples of one second as one, by the rules ``put`` stores them with."""
    kept = first.values
    if second.values and len(first.values) + len(second.values) <= MAX_VALUES:
        kept = first.values + second.values
    return Sample(
        first.second,
        first.count + second.count,
        first.total + second.total,
        min(first.minimum, second.minimum),
        max(first.maximum, second.maximum),
        second.unit,
        kept,
    )


def _key_row(key: MetricKey) -> tuple[str, ...]:
    return (key.account, key.region, key.namespace, key.name, encode_dimensions(key.dimensions))


def _values_text(values: tuple[float, ...]) -> str:
    return ",".join(repr(float(v)) for v in values)


def _sample(row: Sequence[Any]) -> Sample:
    vals = str(row[6])
    values = tuple(float(v) for v in vals.split(",")) if vals else ()
    return Sample(
        int(row[0]), float(row[1]), float(row[2]), float(row[3]), float(row[4]), str(row[5]), values
    )


class MetricTables(Tables):
    """The metrics' tables."""

    def put(
        self, points: Sequence[tuple[MetricKey, Sample]], cursor: tuple[str, int, int] | None = None
    ) -> None:
        """Merge ``points`` into their stored seconds (and move ``cursor`` (name, old, new) in the same
        transaction); points of one metric and second are merged here first."""
        merged: dict[tuple[tuple[str, ...], int], Sample] = {}
        for key, sample in points:
            if not all(
                math.isfinite(v) for v in (sample.count, sample.total, sample.minimum, sample.maximum)
            ):
                raise ValueError(f"a sample's statistics must be finite numbers, got {sample}")
            if len(sample.values) > MAX_VALUES:
                sample = Sample(
                    sample.second,
                    sample.count,
                    sample.total,
                    sample.minimum,
                    sample.maximum,
                    sample.unit,
                    sample.values[:MAX_VALUES],
                )
            slot = (_key_row(key), sample.second)
            merged[slot] = merge(merged[slot], sample) if slot in merged else sample
        samples = [
            (
                *key,
                s.second,
                s.count,
                s.total,
                s.minimum,
                s.maximum,
                s.unit,
                len(s.values),
                _values_text(s.values),
            )
            for (key, _), s in sorted(merged.items(), key=lambda item: item[0])
        ]
        newest: dict[tuple[str, ...], int] = {}
        for row_key, second in merged:
            newest[row_key] = max(second, newest.get(row_key, second))
        keys = [(*row_key, second) for row_key, second in sorted(newest.items())]
        sample_sql, key_sql = self.sql(_PUT_SAMPLE), self.sql(_PUT_KEY)

        def run(conn: Any) -> None:
            # One batch each (sqlite3 and psycopg cursors both take executemany; psycopg pipelines it).
            rows = conn.cursor()
            if samples:
                rows.executemany(sample_sql, samples)
                rows.executemany(key_sql, keys)
            if cursor is not None:
                advance_cursor(conn, self.dialect, *cursor)

        if samples or cursor is not None:
            self.write(run)

    def samples(self, key: MetricKey, start: int, end: int) -> list[Sample]:
        """The metric's seconds in ``[start, end)``, oldest first."""
        sql = self.sql(
            f"SELECT {_SAMPLE} FROM metric_samples WHERE account = ? AND region = ? AND namespace = ? "
            "AND name = ? AND dimensions = ? AND second >= ? AND second < ? ORDER BY second"
        )
        params = (*_key_row(key), start, end)
        return self.read(lambda conn: [_sample(row) for row in conn.execute(sql, params)])

    def metrics(
        self,
        account: str,
        region: str,
        namespace: str | None = None,
        name: str | None = None,
        since: int | None = None,
    ) -> list[MetricKey]:
        """The account's metrics in ``region`` (of ``namespace``, named ``name``, with data at or after
        the second ``since``), ordered by namespace, name and dimensions."""
        where: list[str] = ["account = ?", "region = ?"]
        params: list[str | int] = [account, region]
        for column, value in (("namespace = ?", namespace), ("name = ?", name), ("last_second >= ?", since)):
            if value is not None:
                where.append(column)
                params.append(value)
        order = self.dialect.ordered("namespace", "name", "dimensions")
        sql = self.sql(
            f"SELECT namespace, name, dimensions FROM metric_keys "
            f"WHERE {' AND '.join(where)} ORDER BY {order}"
        )

        def run(conn: Any) -> list[MetricKey]:
            rows = conn.execute(sql, tuple(params)).fetchall()
            return [MetricKey(account, region, r[0], r[1], decode_dimensions(r[2])) for r in rows]

        return self.read(run)

    def purge_before(self, second: int) -> int:
        """Remove every second before ``second``, and the metrics with no data left; how many seconds
        went."""

        def run(conn: Any) -> int:
            gone = conn.execute(self.sql("DELETE FROM metric_samples WHERE second < ?"), (second,)).rowcount
            conn.execute(self.sql("DELETE FROM metric_keys WHERE last_second < ?"), (second,))
            return int(gone)

        return self.write(run)
