"""Filter-pattern evaluation: the 15 CIS monitoring patterns over CloudTrail records, events/s on one
core, next to a baseline in the same run (parsing the same records with the stdlib ``json`` alone).

The patterns are the CIS AWS Foundations metric filters (``../shared/corpus/cis-cloudwatch-metric-
filters``: Security Hub's exact text, CIS v3.0's where Security Hub has none). The records are
``--events`` compact-JSON records from ``bench.records.RecordFactory`` (modelled on the invictus-ir
corpus), as ``str`` because log events are; with ``--corpus`` the real corpus records
(``tests.support.corpus``) are timed as well. Each round times, over all the records:

- ``json.loads`` alone (the baseline: what decoding costs before any pattern is tested);
- ``PatternSet.matching`` with the fifteen (one typed decode per record, compiled closures): the path
  metric filters and FilterLogEvents use;
- each ``FilterPattern.matches`` on its own (the record decoded fifteen times, for comparison);
- the reference evaluator (``msgspec`` decode once, ``match.evaluate`` walking the nodes), which is
  what the engine ran before compilation.

Rounds rotate the order; the medians over ``--rounds`` are quoted with the ratio of the medians to the
baseline. Issue 14's goal: at least 50,000 events/s with all fifteen patterns.

    python -m bench.patterns [--events 30000] [--rounds 7] [--corpus]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from opentrail.streams.patterns import PatternSet, compile_pattern, parse
from opentrail.streams.patterns.match import evaluate
from opentrail.streams.patterns.nodes import JsonPattern

from .records import RecordFactory

FILTERS = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cis-cloudwatch-metric-filters"
) / "cis_cloudwatch_metric_filters.json"


def cis_patterns() -> list[str]:
    filters = json.loads(FILTERS.read_text())["filters"]
    return [f["pattern_securityhub"] or f["patterns_cis_v3_0_text"][0] for f in filters]


def modelled(count: int) -> list[str]:
    factory = RecordFactory(seed=14)
    return [r.decode() for r in factory.records(count, "123456789012", "us-east-1", 1_765_000_000)]


def from_corpus() -> list[str]:
    from tests.support.corpus import corpus_items  # run from the repository root, as documented

    return [item.raw.decode() for item in corpus_items()]


def contenders(patterns: list[str]) -> dict[str, Callable[[str], object]]:
    compiled = [compile_pattern(p) for p in patterns]
    pattern_set = PatternSet(compiled)
    nodes = [parse(p) for p in patterns]
    decode = msgspec.json.Decoder().decode

    def reference(message: str) -> list[int]:
        document = decode(message)
        return [
            i for i, node in enumerate(nodes) if isinstance(node, JsonPattern) and evaluate(node, document)
        ]

    return {
        "json.loads (baseline)": json.loads,
        "PatternSet.matching, 15 CIS": pattern_set.matching,
        "FilterPattern.matches x 15": lambda m: [p.matches(m) for p in compiled],
        "reference evaluator, 15 CIS": reference,
    }


def timed(fn: Callable[[str], object], records: Sequence[str]) -> float:
    """Events per second of ``fn`` over ``records`` (CPU time of this process: one core)."""
    began = time.process_time()
    for record in records:
        fn(record)
    return len(records) / (time.process_time() - began)


def run(label: str, records: list[str], patterns: list[str], rounds: int) -> None:
    named = contenders(patterns)
    pattern_set = PatternSet([compile_pattern(p) for p in patterns])
    matched = sum(len(pattern_set.matching(r)) for r in records)
    mean = sum(map(len, records)) / len(records)
    print(f"\n{label}: {len(records):,} records, mean {mean:,.0f} bytes, {matched:,} pattern matches")
    rates: dict[str, list[float]] = {name: [] for name in named}
    order = list(named)
    for number in range(rounds):
        for name in order[number % len(order) :] + order[: number % len(order)]:
            rates[name].append(timed(named[name], records))
    baseline = statistics.median(rates["json.loads (baseline)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"  {name:<30} median {median:>10,.0f} events/s  ({median / baseline:.2f} x json.loads)  "
            f"[{min(values):,.0f} .. {max(values):,.0f}]"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=30_000, help="modelled records [30000]")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; medians quoted [7]")
    parser.add_argument("--corpus", action="store_true", help="time the real corpus records too")
    opts = parser.parse_args()
    patterns = cis_patterns()
    print(
        f"OpenTrail filter-pattern benchmark: {os.cpu_count()} cores (one used), {len(patterns)} CIS "
        f"patterns, {opts.rounds} rounds, CPU time"
    )
    run("corpus-modelled records", modelled(opts.events), patterns, opts.rounds)
    if opts.corpus:
        run("real corpus records", from_corpus(), patterns, opts.rounds)


if __name__ == "__main__":
    main()
