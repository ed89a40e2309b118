"""Statistics over periods from one-second samples: buckets from the rounded start, missing periods left
out, each statistic checked against a computation written out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrail.store.metrics import Sample
from opentrail.streams.metrics.statistics import aggregate, is_percentile, statistic_value


def sample(second: int, *values: float) -> Sample:
    return Sample(second, len(values), sum(values), min(values), max(values), "Count", tuple(values))


SAMPLES = [sample(100, 1.0, 3.0), sample(105, 10.0), sample(125, 2.0), sample(160, 7.0)]


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [
        ("SampleCount", [(100, 3.0), (120, 1.0), (160, 1.0)]),
        ("Sum", [(100, 14.0), (120, 2.0), (160, 7.0)]),
        ("Average", [(100, 14.0 / 3), (120, 2.0), (160, 7.0)]),
        ("Minimum", [(100, 1.0), (120, 2.0), (160, 7.0)]),
        ("Maximum", [(100, 10.0), (120, 2.0), (160, 7.0)]),
        ("p50", [(100, 3.0), (120, 2.0), (160, 7.0)]),
        ("p100", [(100, 10.0), (120, 2.0), (160, 7.0)]),
    ],
)
def test_each_statistic_per_twenty_second_period(statistic: str, expected: list[tuple[int, float]]) -> None:
    # 140-159 has no sample: no datapoint, not a zero.
    assert aggregate(SAMPLES, 100, 180, 20, statistic) == expected


def test_samples_outside_the_range_are_ignored() -> None:
    assert aggregate(SAMPLES, 105, 160, 60, "Sum") == [(105, 12.0)]


def test_statistic_sets_have_no_percentile() -> None:
    assert statistic_value([Sample(0, 4, 10.0, 1.0, 4.0)], "p90") is None
    assert statistic_value([Sample(0, 4, 10.0, 1.0, 4.0)], "Average") == 2.5


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("p99", True),
        ("p99.9", True),
        ("p0", True),
        ("p100", True),
        ("p101", False),
        ("p9.999", False),
        ("P90", False),
        ("avg", False),
    ],
)
def test_percentile_names(text: str, ok: bool) -> None:
    assert is_percentile(text) is ok


def test_an_unknown_statistic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown statistic"):
        statistic_value([sample(0, 1.0)], "Median")


@given(
    st.lists(st.tuples(st.integers(0, 299), st.floats(-1e6, 1e6)), min_size=1, max_size=50),
    st.sampled_from([1, 10, 30, 60]),
)
def test_sums_and_counts_add_up_over_any_period(points: list[tuple[int, float]], period: int) -> None:
    samples = [sample(second, value) for second, value in points]
    counts = aggregate(samples, 0, 300, period, "SampleCount")
    assert sum(v for _, v in counts) == len(points)
    assert all(t % period == 0 for t, _ in counts)
    maxima = dict(aggregate(samples, 0, 300, period, "Maximum"))
    for second, value in points:
        assert maxima[second // period * period] >= value
