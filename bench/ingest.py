"""Ingest throughput: events/s through ``POST /IngestRecords`` against a raw sqlite3 baseline.

Each run starts a fresh ``opentrail serve`` (SQLite, its own temp data dir), forks client processes that
build and pre-sign their batches of ~1.2 KB records *before* the clock starts (so the 2 cores this
runs on spend the timed window on the server, not on generating or signing), then send them over one
keep-alive connection each. The baseline inserts the same rows with plain ``sqlite3`` executemany into a
fresh database built from the store's own migration file, WAL and synchronous=FULL like the server.

    python -m bench.ingest [--events 300000] [--clients 8] [--runs 3]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import msgspec

from opentrail.events import EventRow
from opentrail.ingest.records import index_record
from opentrail.store.sqlite.events import INDEX_HISTORY_SQL, INSERT_EVENT_SQL, event_values
from opentrail.store.sqlite.history import SCHEMA as HISTORY_SCHEMA

from .common import (
    Connection,
    Credentials,
    Server,
    Signer,
    botocore_sign_us,
    contention,
    cpu_seconds,
    fmt_rate,
    lean_sign_us,
    median,
    memory_kb,
    migration_sql,
    noise_line,
    percentile,
    read_only,
    remove_dir,
    start_profiler,
    stop_profiler,
    temp_dir,
    thread_cpu,
)
from .records import (
    RecordFactory,
    records_body,
)

GOAL_EVENTS_PER_S = 25_000
GOAL_RSS_MB = 300
REGIONS = ("us-east-1", "eu-west-1")
PATH = "/IngestRecords"


@dataclass
class ClientResult:
    events: int
    calls: int
    started: float
    finished: float
    cpu: float
    latencies: list[float]
    errors: list[str]


def client_seed(run: int, client: int) -> int:
    return 1000 * run + client


def make_batches(seed: int, batches: int, size: int, account: str, epoch: int) -> list[list[bytes]]:
    """The records one client sends (deterministic in ``seed``, so the baseline can rebuild them)."""
    factory = RecordFactory(seed)
    out = []
    for index in range(batches):
        region = REGIONS[index % len(REGIONS)]
        out.append(list(factory.records(size, account, region, epoch + index)))
    return out


def client_main(
    args: tuple[int, int, int, int, int, Credentials, int, float, str],
    ready: Any,
    start: EventType,
    results: Any,
) -> None:
    run, client, batches, size, port, creds, epoch, deadline_s, kind = args
    bodies = [
        records_body(b)
        for b in make_batches(client_seed(run, client), batches, size, creds.account_id, epoch)
    ]
    send = lean_sender(bodies, creds, port) if kind == "lean" else opentrail_sender(creds, port)
    ready.put(client)
    start.wait()
    errors: list[str] = []
    latencies: list[float] = []
    events = 0
    cpu0 = time.process_time()
    began = time.perf_counter()
    stop_at = began + deadline_s
    for index, body in enumerate(bodies):
        sent = time.perf_counter()
        try:
            answer = send(index, body)
        except RuntimeError as exc:
            errors.append(str(exc))
            break
        latencies.append(time.perf_counter() - sent)
        events += int(answer["accepted"])
        if answer["failed"]:
            errors.append(f"failed records: {answer['failed'][:2]}")
        if sent > stop_at:
            break
    finished = time.perf_counter()
    results.put(
        ClientResult(
            events=events,
            calls=len(latencies),
            started=began,
            finished=finished,
            cpu=time.process_time() - cpu0,
            latencies=latencies,
            errors=errors,
        )
    )


def lean_sender(bodies: list[bytes], creds: Credentials, port: int) -> Callable[[int, bytes], Any]:
    """Every call signed before the clock starts (signatures hold for 15 minutes), sent with http.client."""
    signer = Signer(creds, "us-east-1", "cloudtrail-data", f"127.0.0.1:{port}")
    headers = [signer.headers(PATH, body, "application/json") for body in bodies]
    conn = Connection(port)

    def send(index: int, body: bytes) -> Any:
        status, payload = conn.post(PATH, body, headers[index])
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {payload[:200]!r}")
        return msgspec.json.decode(payload)

    return send


def opentrail_sender(creds: Credentials, port: int) -> Callable[[int, bytes], Any]:
    """The project's own client (``put-events`` uses it): botocore SigV4 per call, httpx keep-alive."""
    from botocore.credentials import ReadOnlyCredentials

    from opentrail.client.remote import Client
    from opentrail.errors import RemoteError

    client = Client(f"http://127.0.0.1:{port}", ReadOnlyCredentials(creds.access_key_id, creds.secret, None))

    def send(_: int, body: bytes) -> Any:
        try:
            return client.ingest_records(body)
        except RemoteError as exc:
            raise RuntimeError(str(exc)) from None

    return send


@dataclass
class RunResult:
    events: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    server_cores: float
    client_cores: float
    peak_rss_mb: float
    wal_mb: float
    stored: int
    thread_us: dict[str, float]  # server CPU µs per event, by OS thread name


def ingest_run(
    run: int,
    opts: argparse.Namespace,
    epoch: int,
    prepare: Callable[[Server], None] | None = None,
    settle: Callable[[Server, int], None] | None = None,
) -> RunResult:
    """One server's run. ``prepare`` configures the server before the clients start (bench.streams: a
    trail streaming to a log group, metric filters); ``settle`` runs after the send phase, before the
    server stops, with the number of events accepted."""
    data_dir = temp_dir("opentrail-bench-ingest-")
    server = Server(data_dir)
    try:
        server.start()
        assert server.root is not None
        if prepare is not None:
            prepare(server)
        per_client = opts.events // (opts.batch * opts.clients)
        ctx = mp.get_context("fork")
        ready = ctx.Queue()
        results = ctx.Queue()
        start = ctx.Event()
        procs = [
            ctx.Process(
                target=client_main,
                args=(
                    (
                        run,
                        i,
                        per_client,
                        opts.batch,
                        server.port,
                        server.root,
                        epoch,
                        opts.max_seconds,
                        opts.client,
                    ),
                    ready,
                    start,
                    results,
                ),
            )
            for i in range(opts.clients)
        ]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=300)
        profiler = start_profiler(f"{opts.profile}-run{run + 1}.txt", server.pid) if opts.profile else None
        cpu0 = cpu_seconds(server.pid)
        threads0 = thread_cpu(server.pid)
        wall0 = time.perf_counter()
        start.set()
        got = [results.get(timeout=opts.max_seconds + 120) for _ in procs]
        wall = time.perf_counter() - wall0
        stop_profiler(profiler)
        server_cpu = cpu_seconds(server.pid) - cpu0
        threads1 = thread_cpu(server.pid)
        peak_kb, _ = memory_kb(server.pid)
        wal = server.db_path.with_name(server.db_path.name + "-wal")
        wal_mb = wal.stat().st_size / 2**20 if wal.exists() else 0.0
        for proc in procs:
            proc.join()
        errors = [e for r in got for e in r.errors]
        if errors:
            raise RuntimeError(f"ingest failed: {errors[:3]}\n{server.log()}")
        events = sum(r.events for r in got)
        span = max(r.finished for r in got) - min(r.started for r in got)
        latencies = [x for r in got for x in r.latencies]
        if settle is not None:
            settle(server, events)
        server.stop()
        with read_only(server.db_path) as conn:
            stored = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        server.stop()
        remove_dir(data_dir)
    return RunResult(
        events=events,
        seconds=span,
        rate=events / span,
        p50_ms=percentile(latencies, 50) * 1e3,
        p99_ms=percentile(latencies, 99) * 1e3,
        server_cores=server_cpu / wall,
        client_cores=sum(r.cpu for r in got) / wall,
        peak_rss_mb=peak_kb / 1024,
        wal_mb=wal_mb,
        stored=stored,
        thread_us={
            name: (seconds - threads0.get(name, 0.0)) / max(events, 1) * 1e6
            for name, seconds in sorted(threads1.items(), key=lambda item: -item[1])
        },
    )


# -- the raw baseline ------------------------------------------------------------------------------------
def baseline_rows(rows: list[EventRow]) -> list[tuple[Any, ...]]:
    """Event rows exactly as the store lays them out (seq assigned in order)."""
    streams: dict[tuple[str, str], int] = {}
    events: list[tuple[Any, ...]] = []
    for seq, row in enumerate(rows, start=1):
        sid = streams.setdefault((row.account, row.region), len(streams) + 1)
        events.append((seq, *event_values(sid, row)))
    return events


def raw_insert(
    path: Path, events: list[tuple[Any, ...]], history: bool, per_txn: int, page_size: int = 4096
) -> float:
    """Rows/s of plain executemany at ``per_txn`` event rows per transaction (fsync per commit), with
    the rows' history entries (the store's own INSERT ... SELECT) in the same transaction if asked."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA page_size={page_size}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")
    for sql in migration_sql():
        conn.executescript(f"BEGIN;\n{sql}\nCOMMIT;")
    if history:  # the history file's table, here in the same file: one transaction covers both
        conn.executescript(f"BEGIN;\n{HISTORY_SCHEMA}\nCOMMIT;")
    streams = sorted({(e[1], e[2]) for e in events})
    conn.executemany(
        "INSERT INTO streams (id, account, region) VALUES (?, ?, ?)",
        [(sid, str(acct), f"region-{sid}") for sid, acct in streams],
    )
    started = time.perf_counter()
    for low in range(0, len(events), per_txn):
        chunk = events[low : low + per_txn]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT_EVENT_SQL, chunk)
        if history:
            conn.execute(INDEX_HISTORY_SQL, (chunk[0][0] - 1, chunk[-1][0]))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return len(events) / elapsed


def baseline(opts: argparse.Namespace, account: str, epoch: int, count: int) -> dict[str, float]:
    """Raw rates for the first ``count`` rows run 1's clients sent, interleaved as the server got them
    (as many rows as the median run stored, so both end at the same database size)."""
    per_client = opts.events // (opts.batch * opts.clients)
    batches = [
        make_batches(client_seed(0, client), per_client, opts.batch, account, epoch)
        for client in range(opts.clients)
    ]
    rows: list[EventRow] = []
    for index in range(per_client):
        for client_batches in batches:
            rows.extend(index_record(raw, account) for raw in client_batches[index])
    del batches
    events = baseline_rows(rows[:count])
    del rows
    rates = {}
    cases = {
        "the log alone (what an ingest call commits), 5,000 rows per transaction": (False, 5000, 4096),
        "the same with 16 KB pages (as the store makes new files)": (False, 5000, 16384),
        "the log alone, 100 rows per transaction": (False, 100, 4096),
        "log + history entries in one transaction, 5,000 rows per transaction": (True, 5000, 4096),
    }
    for label, (entries, per_txn, page_size) in cases.items():
        folder = temp_dir("opentrail-bench-raw-")
        try:
            rates[label] = raw_insert(folder / "raw.db", events, entries, per_txn, page_size)
        finally:
            remove_dir(folder)
    return rates


# -- report ------------------------------------------------------------------------------------------------
def signing_costs(creds: Credentials, opts: argparse.Namespace) -> tuple[float, float, int]:
    body = records_body(make_batches(7, 1, opts.batch, creds.account_id, int(time.time()))[0])
    signer = Signer(creds, "us-east-1", "cloudtrail-data", "127.0.0.1:1")
    return botocore_sign_us(creds, "cloudtrail-data", PATH, body), lean_sign_us(signer, PATH, body), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=300_000, help="events per run [300000]")
    parser.add_argument("--clients", type=int, default=8, help="client processes [8]")
    parser.add_argument("--batch", type=int, default=100, help="records per call [100]")
    parser.add_argument(
        "--client",
        choices=("lean", "opentrail"),
        default="lean",
        help="lean: pre-signed http.client (default); opentrail: opentrail.client.Client, signing each call",
    )
    parser.add_argument("--runs", type=int, default=3, help="server runs; the median is quoted [3]")
    parser.add_argument("--max-seconds", type=float, default=25.0, help="cap on one run's send phase [25]")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="record the server with py-spy into PREFIX-runN.txt"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the raw sqlite3 baseline")
    opts = parser.parse_args()

    epoch = int(time.time()) - 3600
    fake = Credentials("123456789012", "AKIABENCHEXAMPLE0000", "x" * 40)
    boto_us, lean_us, body_bytes = signing_costs(fake, opts)
    sample = make_batches(11, 20, opts.batch, fake.account_id, epoch)
    record_bytes = statistics.mean(len(r) for b in sample for r in b)

    print(f"OpenTrail ingest benchmark: {os.cpu_count()} cores, SQLite (WAL, synchronous=FULL)")
    print(
        f"  records: {record_bytes:,.0f} B mean, from a template modelled on the invictus-ir corpus; "
        f"{opts.batch} per call ({body_bytes / 1024:,.0f} KiB bodies), {opts.clients} client processes, "
        "one keep-alive connection each"
    )
    how = (
        "calls are signed before the clock starts and sent with http.client, so the cores go to the server"
        if opts.client == "lean"
        else "clients use opentrail.client.Client, signing every call with botocore"
    )
    print(
        f"  client signing per call: botocore SigV4Auth (opentrail.client.Client) {boto_us:,.0f} µs, "
        f"hand-rolled hmac {lean_us:,.0f} µs; {how}"
    )
    print()
    header = (
        f"{'run':>3}  {'events':>9}  {'seconds':>7}  {'events/s':>9}  {'call p50':>9}  {'call p99':>9}  "
        f"{'server CPU':>10}  {'clients CPU':>11}  {'server peak RSS':>15}  {'WAL':>6}"
    )
    print(header)
    print("-" * len(header))
    runs: list[RunResult] = []
    gauge: list[float] = []
    for run in range(opts.runs):
        result = ingest_run(run, opts, epoch)
        gauge += contention(200)
        runs.append(result)
        check = "" if result.stored == result.events else f"  (stored {result.stored:,}!)"
        print(
            f"{run + 1:>3}  {result.events:>9,}  {result.seconds:>7.1f}  {fmt_rate(result.rate):>9}  "
            f"{result.p50_ms:>6.1f} ms  {result.p99_ms:>6.1f} ms  {result.server_cores:>5.2f} cores  "
            f"{result.client_cores:>6.2f} cores  {result.peak_rss_mb:>12.0f} MB  "
            f"{result.wal_mb:>3.0f} MB{check}",
            flush=True,
        )
        split = ", ".join(f"{name} {us:.1f}" for name, us in result.thread_us.items() if us >= 0.05)
        print(f"     server CPU µs per event by thread (send phase): {split}", flush=True)
    rate = median([r.rate for r in runs])
    rss = max(r.peak_rss_mb for r in runs)
    print(
        f"median: {fmt_rate(rate)} events/s over {len(runs)} runs; peak server RSS {rss:.0f} MB (max of runs)"
    )
    print()
    if not opts.no_baseline:
        count = int(median([r.stored for r in runs]))
        print(
            f"raw sqlite3 executemany of the same {count:,} rows (fresh db from the store's migration SQL: "
            "same tables and indexes; WAL, synchronous=FULL):"
        )
        raw = baseline(opts, fake.account_id, epoch, count)
        gauge += contention(200)
        for label, raw_rate in raw.items():
            print(f"  {label}: {fmt_rate(raw_rate):>7} rows/s   HTTP ingest / raw = {rate / raw_rate:.2f}")
        print()
    print(noise_line(gauge))
    ok_rate = "met" if rate >= GOAL_EVENTS_PER_S else "NOT met"
    ok_rss = "met" if rss < GOAL_RSS_MB else "NOT met"
    print(
        f"goal: >= {GOAL_EVENTS_PER_S:,} events/s sustained   measured {fmt_rate(rate)} events/s  ({ok_rate})"
    )
    print(f"goal: server memory < {GOAL_RSS_MB} MB        measured peak {rss:.0f} MB  ({ok_rss})")


if __name__ == "__main__":
    main()
