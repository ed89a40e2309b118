"""Trail delivery: events/s from the store to compressed, hashed log files, and ack-to-visible latency.

1. Throughput, in-process: a fresh ``SQLiteStore`` filled with ``--events`` realistic ~1.2 KB management
   records (``bench.common``) in one account and region, a logging trail (its ``trail`` and ``delivery``
   documents, as CreateTrail + StartLogging leave them) and a ``LocalStorage`` bucket in a temp dir. Each
   run rewinds the trail's cursor to 0 and times the real ``Deliverer.run_once(force=True)``: read_log
   in delivery's chunk size, the trail's selection, ``build_log_file`` (join, gzip level 6, SHA-256) and
   the atomic, fsynced object write, in files of at most 50,000 events / 50 MB. The same run prints the
   stdlib ceiling (plain ``zlib.compress`` level 6 + ``hashlib.sha256`` of the same files' bytes,
   ``{"Records":[...]}``, nothing else) and a breakdown of the pipeline's stages timed one by one.
2. Latency, end to end: a real ``opentrail serve`` per interval setting (1 s, and the default 30 s),
   a bucket and a logging trail made through its S3 and CloudTrail APIs (boto3), then small batches at a
   steady rate through ``POST /IngestRecords`` (lean pre-signed client), each event's ack time noted.
   The bucket folder is polled (filesystem only) for new ``.json.gz`` log files; each file's events
   get (time the file became visible - their ack time). Objects are written atomically (temp file and
   rename), so a visible file is a whole file.

    python -m bench.delivery [--events 200000] [--runs 3] [--rate 200] [--fast-seconds 20]
                             [--default-seconds 90] [--skip-latency | --skip-throughput]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import msgspec

from opentrail.clock import SystemClock
from opentrail.delivery import logfiles
from opentrail.delivery import worker as delivery
from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.logfiles import COMPRESSION_LEVEL, build_log_file, gzip_member
from opentrail.delivery.signing import Signer as KeySigner
from opentrail.ingest.records import index_record
from opentrail.selectors.picker import Picker
from opentrail.storage import LocalStorage
from opentrail.store import Doc, LogRow
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails

from .common import (
    Connection,
    Server,
    Signer,
    contention,
    fmt_rate,
    median,
    noise_line,
    percentile,
    remove_dir,
    temp_dir,
)
from .records import (
    RecordFactory,
    records_body,
)

GOAL_EVENTS_PER_S = 50_000
GOAL_SLACK_S = 2.0
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "bench-delivery"
TRAIL = "bench"
GROUP = 5_000
PATH = "/IngestRecords"
DEFAULT_INTERVAL = 30.0
POLL_SECONDS = 0.02


# -- 1. throughput ----------------------------------------------------------------------------------------


@dataclass
class Pipeline:
    store: SQLiteStore
    storage: LocalStorage
    worker: delivery.Deliverer
    trail: trails.Trail
    folder: Path


def build_pipeline(folder: Path, events: int, epoch: int) -> Pipeline:
    store = SQLiteStore(str(folder / "opentrail.db"))
    storage = LocalStorage(folder / "buckets")
    storage.create_bucket(BUCKET)
    clock = SystemClock()
    trail = trails.Trail(
        name=TRAIL,
        trail_arn=f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}",
        home_region=REGION,
        s3_bucket_name=BUCKET,
        is_logging=True,
    )
    store.insert_doc(trails.to_doc(trail, ACCOUNT))
    DeliveryHooks(store).logging_started(ACCOUNT, trail)
    factory = RecordFactory(seed=3)
    for low in range(0, events, GROUP):
        raws = factory.records(min(GROUP, events - low), ACCOUNT, REGION, epoch + low // GROUP)
        store.append([index_record(raw, ACCOUNT) for raw in raws])
    # An interval no pass reaches: only ``force`` delivers, so the clock covers exactly one full pass.
    worker = delivery.Deliverer(store, storage, KeySigner.for_data_dir(store, folder, clock), clock, 1e9, 1e9)
    return Pipeline(store, storage, worker, trail, folder)


def rewind(pipe: Pipeline) -> None:
    """Cursor back to 0 and no batch pending: the next forced pass delivers the whole log again."""

    def change(current: Doc) -> Doc:
        current.body = {**current.body, "cursor": 0, "batch": None, "last_flush": 0.0}
        return current

    pipe.store.update_doc(delivery.KIND, ACCOUNT, pipe.trail.trail_arn, change)


def delivered_files(pipe: Pipeline) -> list[Path]:
    return sorted((pipe.folder / "buckets" / BUCKET / "AWSLogs").rglob("*.json.gz"))


@dataclass
class PassResult:
    events: int
    files: int
    seconds: float
    cpu: float
    compressed: int
    raw: int


def timed_pass(pipe: Pipeline) -> PassResult:
    for path in delivered_files(pipe):
        path.unlink()
    rewind(pipe)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    pipe.worker.run_once(force=True)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    files = delivered_files(pipe)
    events = raw = 0
    for path in files:
        data = gzip.decompress(path.read_bytes())
        raw += len(data)
        events += len(msgspec.json.decode(data)["Records"])
    compressed = sum(p.stat().st_size for p in files)
    return PassResult(events, len(files), wall, cpu, compressed, raw)


def stages(pipe: Pipeline) -> tuple[dict[str, float], list[bytes], int]:
    """Each stage of a pass timed on its own (seconds), each file's joined bytes (for the baseline) and
    the number of events."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    rows: list[LogRow] = []
    after = 0
    while (part := pipe.store.read_log(ACCOUNT, after, delivery.READ_CHUNK, None, REGION)).last != after:
        rows.extend(part.rows)
        after = part.last
    out["read_log (SQLite range scan, driver tuples)"] = time.perf_counter() - started
    started = time.perf_counter()
    wanted = Picker(pipe.trail)
    picked = [row for row in rows if wanted(row)]
    out["trail selection"] = time.perf_counter() - started
    files = split_files(picked)
    records = [[row[6] for row in f] for f in files]
    times = [[row[5] / 1000 for row in f] for f in files]
    started = time.perf_counter()
    raws = [logfiles._records_json(r) for r in records]  # build_log_file's own join
    out["join into {Records:[...]}"] = time.perf_counter() - started
    started = time.perf_counter()
    gzipped = [gzip_member(raw) for raw in raws]
    out["gzip_member (deflate level 6 + crc32)"] = time.perf_counter() - started
    started = time.perf_counter()
    for raw in raws:
        hashlib.sha256(raw).hexdigest()
    out["sha256"] = time.perf_counter() - started
    started = time.perf_counter()
    for r, t in zip(records, times, strict=True):
        build_log_file(r, t)
    out["build_log_file (all of the three above)"] = time.perf_counter() - started
    started = time.perf_counter()
    for index, data in enumerate(gzipped):
        pipe.storage.put_object(BUCKET, f"stage/{index}.json.gz", data, content_type="application/x-gzip")
    out["put_object (LocalStorage, fsync)"] = time.perf_counter() - started
    return out, raws, len(picked)


def split_files(picked: list[LogRow]) -> list[list[LogRow]]:
    """Events cut into files as delivery cuts them (at MAX_FILE_EVENTS events or MAX_FILE_BYTES)."""
    files: list[list[LogRow]] = [[]]
    size = 0
    for row in picked:
        files[-1].append(row)
        size += len(row[6])
        if len(files[-1]) >= delivery.MAX_FILE_EVENTS or size >= delivery.MAX_FILE_BYTES:
            files.append([])
            size = 0
    return [f for f in files if f]


def baseline(raws: list[bytes]) -> float:
    """Seconds of plain zlib.compress level 6 + hashlib.sha256 over the same files' joined bytes."""
    started = time.perf_counter()
    for raw in raws:
        zlib.compress(raw, COMPRESSION_LEVEL)
        hashlib.sha256(raw).hexdigest()
    return time.perf_counter() - started


def throughput(opts: argparse.Namespace, gauge: list[float]) -> tuple[float, float]:
    folder = temp_dir("opentrail-bench-delivery-")
    try:
        started = time.perf_counter()
        pipe = build_pipeline(folder, opts.events, int(time.time()) - 3600)
        fill = time.perf_counter() - started
        try:
            return throughput_runs(pipe, opts, fill, gauge)
        finally:
            pipe.store.close()
    finally:
        remove_dir(folder)


def throughput_runs(
    pipe: Pipeline, opts: argparse.Namespace, fill: float, gauge: list[float]
) -> tuple[float, float]:
    db_mb = sum(p.stat().st_size for p in pipe.folder.glob("opentrail.db*")) / 2**20
    print(
        f"1. throughput, in-process: {opts.events:,} management events (one account, one region) in a fresh "
        f"SQLiteStore ({db_mb:,.0f} MB, filled in {fill:.1f} s); Deliverer.run_once(force=True) with a "
        f"logging trail to a LocalStorage bucket; read chunk {delivery.READ_CHUNK:,}, files of at most "
        f"{delivery.MAX_FILE_EVENTS:,} events, gzip level {COMPRESSION_LEVEL}"
    )
    header = (
        f"{'run':>3}  {'events':>9}  {'files':>5}  {'seconds':>7}  {'events/s':>9}  {'CPU s':>6}  "
        f"{'events/CPU s':>12}  {'gz MB':>6}  {'ratio':>5}"
    )
    print(header)
    print("-" * len(header))
    results: list[PassResult] = []
    for run in range(opts.runs):
        result = timed_pass(pipe)
        gauge += contention(200)
        results.append(result)
        print(
            f"{run + 1:>3}  {result.events:>9,}  {result.files:>5}  {result.seconds:>7.2f}  "
            f"{fmt_rate(result.events / result.seconds):>9}  {result.cpu:>6.2f}  "
            f"{fmt_rate(result.events / result.cpu):>12}  {result.compressed / 2**20:>6.1f}  "
            f"{result.raw / result.compressed:>5.1f}",
            flush=True,
        )
    rate = median([r.events / r.seconds for r in results])
    cpu_rate = median([r.events / r.cpu for r in results])
    print(f"median: {fmt_rate(rate)} events/s wall, {fmt_rate(cpu_rate)} events per CPU second")
    parts, raws, events = stages(pipe)
    gauge += contention(200)
    print(f"stages, each timed alone over the same {events:,} events (one core; µs per event, events/s):")
    for label, seconds in parts.items():
        print(
            f"  {label:<42} {seconds:>6.2f} s  {seconds / events * 1e6:>6.2f} µs  "
            f"{fmt_rate(events / seconds):>11}"
        )
    base_s = median([baseline(raws) for _ in range(opts.runs)])
    gauge += contention(200)
    print(
        f"stdlib ceiling (zlib.compress level {COMPRESSION_LEVEL} + hashlib.sha256 of the same files' "
        "joined bytes, nothing else): "
        f"{fmt_rate(events / base_s)} events/s ({base_s:.2f} s)   delivery / ceiling = "
        f"{rate / (events / base_s):.2f}"
    )
    print()
    return rate, cpu_rate


# -- 2. latency -------------------------------------------------------------------------------------------


@dataclass
class LatencyResult:
    interval: float
    sent: int
    delivered: int
    files: int
    latencies: list[float]


def make_trail(server: Server) -> None:
    assert server.root is not None
    kwargs: dict[str, Any] = {
        "endpoint_url": f"http://127.0.0.1:{server.port}",
        "region_name": REGION,
        "aws_access_key_id": server.root.access_key_id,
        "aws_secret_access_key": server.root.secret,
    }
    boto3.client("s3", **kwargs).create_bucket(Bucket=BUCKET)
    cloudtrail = boto3.client("cloudtrail", **kwargs)
    cloudtrail.create_trail(Name=TRAIL, S3BucketName=BUCKET)
    cloudtrail.start_logging(Name=TRAIL)


class Watcher:
    """New log files under the bucket's AWSLogs folder: when each became visible, and its event IDs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.seen: set[Path] = set()
        self.visible: dict[str, float] = {}

    def poll(self) -> int:
        if not self.root.is_dir():
            return 0
        now = time.perf_counter()
        found = 0
        for dirpath, _, names in os.walk(self.root):
            for name in names:
                path = Path(dirpath) / name
                if not name.endswith(".json.gz") or path in self.seen:
                    continue
                self.seen.add(path)
                found += 1
                for record in msgspec.json.decode(gzip.decompress(path.read_bytes()))["Records"]:
                    self.visible.setdefault(record["eventID"], now)
        return found


def latency_run(interval: float | None, seconds: float, opts: argparse.Namespace) -> LatencyResult:
    data_dir = temp_dir("opentrail-bench-delivery-latency-")
    env = {} if interval is None else {"OPENTRAIL_DELIVERY_INTERVAL": f"{interval:g}"}
    server = Server(data_dir, env_extra=env)
    effective = DEFAULT_INTERVAL if interval is None else interval
    try:
        server.start()
        assert server.root is not None
        make_trail(server)
        account = server.root.account_id
        signer = Signer(server.root, REGION, "cloudtrail-data", f"127.0.0.1:{server.port}")
        conn = Connection(server.port)
        factory = RecordFactory(seed=11)
        decoder = msgspec.json.Decoder()
        watcher = Watcher(data_dir / "buckets" / BUCKET / "AWSLogs")
        acked: dict[str, float] = {}
        per_batch = max(1, round(opts.rate * opts.batch_seconds))
        began = time.perf_counter()
        next_send = began
        stop_sending = began + seconds
        while time.perf_counter() < stop_sending:
            now = time.perf_counter()
            if now >= next_send:
                records = list(factory.records(per_batch, account, REGION, int(time.time())))
                body = records_body(records)
                status, payload = conn.post(PATH, body, signer.headers(PATH, body, "application/json"))
                ack = time.perf_counter()
                answer = decoder.decode(payload)
                if status != 200 or answer.get("failed"):
                    raise RuntimeError(f"ingest failed: HTTP {status} {payload[:300]!r}")
                for raw in records:
                    acked[decoder.decode(raw)["eventID"]] = ack
                next_send += opts.batch_seconds
            watcher.poll()
            time.sleep(max(0.0, min(next_send - time.perf_counter(), POLL_SECONDS)))
        conn.close()
        # Drain: everything acked should be in a file within the interval (plus slack); bounded.
        drain_until = time.perf_counter() + effective + GOAL_SLACK_S + 10
        while time.perf_counter() < drain_until and not acked.keys() <= watcher.visible.keys():
            watcher.poll()
            time.sleep(POLL_SECONDS)
        latencies = [watcher.visible[e] - t for e, t in acked.items() if e in watcher.visible]
        return LatencyResult(effective, len(acked), len(latencies), len(watcher.seen), latencies)
    finally:
        server.stop()
        remove_dir(data_dir)


def latency(opts: argparse.Namespace, gauge: list[float]) -> list[LatencyResult]:
    print(
        f"2. latency, end to end: opentrail serve, a logging trail to a local bucket, {opts.rate:g} events/s "
        f"through POST /IngestRecords in batches every {opts.batch_seconds:g} s (lean pre-signed client); "
        f"the bucket folder polled every {POLL_SECONDS * 1e3:.0f} ms; per event: file visible - ingest ack"
    )
    header = (
        f"{'interval':>14}  {'seconds':>7}  {'sent':>6}  {'in files':>8}  {'files':>5}  "
        f"{'p50':>7}  {'p99':>7}  {'max':>7}  {'min':>7}"
    )
    print(header)
    print("-" * len(header))
    cases: list[tuple[float | None, float]] = [(1.0, opts.fast_seconds), (None, opts.default_seconds)]
    results = []
    for interval, seconds in cases:
        result = latency_run(interval, seconds, opts)
        gauge += contention(200)
        results.append(result)
        label = f"{result.interval:g} s" + (" (default)" if interval is None else "")
        lat = result.latencies
        top, low = (max(lat), min(lat)) if lat else (float("nan"), float("nan"))
        print(
            f"{label:>14}  {seconds:>7.0f}  {result.sent:>6,}  {result.delivered:>8,}  {result.files:>5}  "
            f"{percentile(lat, 50):>5.2f} s  {percentile(lat, 99):>5.2f} s  {top:>5.2f} s  {low:>5.2f} s",
            flush=True,
        )
    print()
    return results


# -- report -----------------------------------------------------------------------------------------------


def goal(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events in the store [200000]")
    parser.add_argument("--runs", type=int, default=3, help="timed delivery passes; median quoted [3]")
    parser.add_argument("--rate", type=float, default=200.0, help="latency: events/s sent [200]")
    parser.add_argument("--batch-seconds", type=float, default=0.1, help="latency: one batch every [0.1] s")
    parser.add_argument(
        "--fast-seconds", type=float, default=20.0, help="latency: send phase at the 1 s interval [20]"
    )
    parser.add_argument(
        "--default-seconds",
        type=float,
        default=90.0,
        help="latency: send phase at the default 30 s interval (3 intervals) [90]",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    opts = parser.parse_args()
    sample = list(RecordFactory(seed=5).records(2000, ACCOUNT, REGION, int(time.time())))
    opts.record_bytes = sum(len(r) for r in sample) / len(sample)

    print(
        f"OpenTrail delivery benchmark: {os.cpu_count()} cores; records {opts.record_bytes:,.0f} B mean, "
        "from the template modelled on the invictus-ir corpus"
    )
    print()
    gauge: list[float] = contention(200)
    rates = None if opts.skip_throughput else throughput(opts, gauge)
    results = [] if opts.skip_latency else latency(opts, gauge)
    print(noise_line(gauge))
    if rates is not None:
        rate, cpu_rate = rates
        print(
            f"goal: >= {GOAL_EVENTS_PER_S:,} events/s delivered on one core   measured {fmt_rate(rate)} "
            f"events/s wall, {fmt_rate(cpu_rate)} per CPU second  ({goal(rate >= GOAL_EVENTS_PER_S)})"
        )
    for result in results:
        p99 = percentile(result.latencies, 99)
        bound = result.interval + GOAL_SLACK_S
        complete = result.delivered == result.sent
        missing = "" if complete else f"; {result.sent - result.delivered:,} events never seen in a file"
        print(
            f"goal: ack-to-visible p99 <= {bound:g} s at a {result.interval:g} s interval   measured "
            f"{p99:.2f} s{missing}  ({goal(complete and p99 <= bound)})"
        )


if __name__ == "__main__":
    main()
