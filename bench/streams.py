"""Ingest with the real-time path on: events/s through ``POST /IngestRecords`` with a multi-region trail
streaming every event to a log group that has the 15 CIS metric filters, next to the same ingest with
none of it, in one run (servers alternate, so drift on this noisy 2-core machine hits both alike).

After each streaming run's send phase it also measures how long the log group and the metric filters
took to catch up with what was acknowledged (the streaming and the filters run behind ingest).

    python -m bench.streams [--events 150000] [--clients 4] [--runs 3]

A third kind, ``trail``, has the same trail delivering log files only: streaming/trail is what the log
group and its metric filters cost by themselves (streaming/plain also holds the log files' cost).

Goal (issue 14): the streaming rate at least 0.85 of the plain one. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from typing import Any

import boto3
import botocore.config

from opentrail.streams import cis

from .common import Server, fmt_rate, median
from .ingest import RunResult, ingest_run

GOAL_RATIO = 0.85
GROUP = "CloudTrail/bench"
# No trail at all; a trail delivering log files only; the same trail streaming to the filtered group.
KINDS = ("plain", "trail", "streaming")


def client(server: Server, service: str) -> Any:
    assert server.root is not None
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{server.port}",
        region_name="us-east-1",
        aws_access_key_id=server.root.access_key_id,
        aws_secret_access_key=server.root.secret,
        config=botocore.config.Config(retries={"max_attempts": 1, "mode": "legacy"}),
    )


def prepare_trail(server: Server, **streaming: str) -> None:
    """A bucket and a multi-region trail delivering log files to it (and ``streaming`` options)."""
    client(server, "s3").create_bucket(Bucket="bench-streams")
    cloudtrail = client(server, "cloudtrail")
    cloudtrail.create_trail(
        Name="streaming", S3BucketName="bench-streams", IsMultiRegionTrail=True, **streaming
    )
    cloudtrail.start_logging(Name="streaming")


def prepare_streaming(server: Server) -> None:
    """A log group with the CIS metric filters, and a multi-region trail streaming to it."""
    assert server.root is not None
    account = server.root.account_id
    logs = client(server, "logs")
    logs.create_log_group(logGroupName=GROUP)
    for control in cis.CONTROLS:
        logs.put_metric_filter(**cis.filter_request(control, GROUP))
    prepare_trail(
        server,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{account}:log-group:{GROUP}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{account}:role/CloudTrail_CloudWatchLogs_Role",
    )


def positions(server: Server) -> tuple[int, int, int]:
    """(log events streamed, the last log event's number, the metric filters' cursor)."""
    conn = sqlite3.connect(f"file:{server.db_path}?mode=ro", uri=True)
    try:
        streamed, high = conn.execute("SELECT count(*), coalesce(max(seq), 0) FROM log_events").fetchone()
        found = conn.execute("SELECT seq FROM cursors WHERE name = 'metric-filters'").fetchone()
    finally:
        conn.close()
    return int(streamed), int(high), 0 if found is None else int(found[0])


CATCH_UP: list[float] = []


def settle_streaming(server: Server, accepted: int) -> None:
    """Wait until every event is streamed and consumed by the filters; record how long that took."""
    began = time.perf_counter()
    deadline = began + 300
    while time.perf_counter() < deadline:
        streamed, high, consumed = positions(server)
        if streamed >= accepted and consumed >= high:
            CATCH_UP.append(time.perf_counter() - began)
            return
        time.sleep(0.2)
    CATCH_UP.append(float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=150_000, help="events per run [150000]")
    parser.add_argument("--clients", type=int, default=4, help="client processes [4]")
    parser.add_argument("--batch", type=int, default=100, help="records per call [100]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind; medians are quoted [3]")
    parser.add_argument("--max-seconds", type=float, default=25.0, help="cap on one run's send phase [25]")
    opts = parser.parse_args()
    opts.client, opts.profile = "lean", None
    epoch = int(time.time()) - 600
    print(f"OpenTrail ingest with the real-time path: {os.cpu_count()} cores, SQLite")
    print(
        f"  {opts.events:,} events a run, {opts.batch} per call, {opts.clients} clients; streaming: a "
        f"multi-region trail to a log group with the {len(cis.CONTROLS)} CIS metric filters"
    )
    header = f"{'run':>3}  {'kind':<10}  {'events/s':>9}  {'call p50':>9}  {'call p99':>9}  {'catch-up':>9}"
    print(header)
    print("-" * len(header))
    found: dict[str, list[RunResult]] = {kind: [] for kind in KINDS}
    for run in range(opts.runs):
        for kind in KINDS[run % 3 :] + KINDS[: run % 3]:  # the order rotates, so drift hits each kind
            lag = ""
            if kind == "plain":
                result = ingest_run(run, opts, epoch)
            elif kind == "trail":
                result = ingest_run(run, opts, epoch, prepare_trail)
            else:
                result = ingest_run(run, opts, epoch, prepare_streaming, settle_streaming)
                lag = f"{CATCH_UP[-1]:.1f} s"
            found[kind].append(result)
            print(
                f"{run + 1:>3}  {kind:<10}  {fmt_rate(result.rate):>9}  {result.p50_ms:>6.1f} ms  "
                f"{result.p99_ms:>6.1f} ms  {lag:>9}",
                flush=True,
            )
    base, trail, with_streams = (median([r.rate for r in found[kind]]) for kind in KINDS)
    print()
    print(
        f"median events/s: plain {fmt_rate(base)}, trail {fmt_rate(trail)}, "
        f"streaming {fmt_rate(with_streams)}"
    )
    print(f"ratio streaming/plain: {with_streams / base:.2f} (goal >= {GOAL_RATIO})")
    print(f"ratio streaming/trail (the log group and its filters alone): {with_streams / trail:.2f}")
    print(f"catch-up after the send phase (log group and metric filters), median: {median(CATCH_UP):.1f} s")


if __name__ == "__main__":
    main()
