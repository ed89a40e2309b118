"""Benchmarks: `python -m bench.ingest` and `python -m bench.lookup` print figures, never assert timings."""
