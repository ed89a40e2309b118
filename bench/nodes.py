"""Several nodes: ingest events/s, LookupEvents p99 and CPU per event on PostgreSQL with 1 and 2
``opentrail serve`` nodes, next to SQLite with 1 node, in one run; and a raw COPY of the same rows.

Each configuration starts fresh servers (PostgreSQL: a schema of its own in one throwaway cluster with
fsync on, nodes sharing a data directory for ``master.key``), forks ``--clients`` client processes that
build and pre-sign their batches before the clock starts (``bench.ingest``'s clients, spread evenly
over the nodes), and times the send phase. CPU seconds are read from /proc around the send phase: each
API node's process, and PostgreSQL's (the postmaster, its children alive now, and the children it
reaped in between), after a CHECKPOINT so none falls inside the phase. Then ``--lookups``
LookupEvents calls (first page of 50, by EventName) are timed, spread over the nodes. The raw COPY
moves the same records' row values into a plain table, 5,000 rows a transaction (``bench.postgres``'s
baseline).

    python -m bench.nodes [--events 60000] [--clients 4] [--batch 100] [--lookups 300] [--rounds 3]

The machine's speed moves between and within runs, so the three configurations run ``--rounds`` times
in turn and the goals are judged on the median of the per-round ratios.

Figures only: nothing here asserts a timing. Goals (issue 5): PostgreSQL ingest on one node at least
half of SQLite's; CPU per event flat when a second node is added.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass, field

import psycopg

from opentrail.ingest.records import index_record
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, JSON_11_CONTENT_TYPE

from . import postgres as postgres_bench
from .common import (
    Connection,
    Credentials,
    Server,
    Signer,
    cpu_seconds,
    fmt_rate,
    free_port,
    median,
    percentile,
    remove_dir,
    temp_dir,
)
from .ingest import client_main, client_seed, make_batches

REGION = "us-east-1"


@dataclass
class Node(Server):
    """A server node; on PostgreSQL the bootstrap account is read from the database."""

    database_url: str = ""

    def read_root(self) -> Credentials:
        if not self.database_url:
            return super().read_root()
        values = {}
        for line in (self.data_dir / "credentials").read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'bootstrap_account'").fetchone()
        assert row is not None
        return Credentials(str(row[0]), values["aws_access_key_id"], values["aws_secret_access_key"])


def _proc_times(pid: int) -> tuple[float, float, int]:
    """(own CPU s, reaped children's CPU s, parent pid) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (
        (int(fields[11]) + int(fields[12])) / tick,
        (int(fields[13]) + int(fields[14])) / tick,
        int(fields[1]),
    )


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL cluster so far: the postmaster, what it reaped, its live children."""
    own, reaped, _ = _proc_times(postmaster)
    total = own + reaped
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            mine, _, parent = _proc_times(int(entry))
        except (FileNotFoundError, ProcessLookupError):
            continue
        if parent == postmaster:
            total += mine
    return total


@dataclass
class Result:
    label: str
    events: int
    seconds: float
    node_cpu: list[float]
    pg_cpu: float | None
    lookup_p50_ms: float
    lookup_p99_ms: float
    account: str = ""
    records: list[list[bytes]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def lookup_times(nodes: list[Node], creds: Credentials, calls: int, event_name: str) -> list[float]:
    body = json.dumps(
        {"MaxResults": 50, "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}]}
    ).encode()
    times: list[float] = []
    for i, node in enumerate(nodes):
        signer = Signer(creds, REGION, "cloudtrail", f"127.0.0.1:{node.port}")
        conn = Connection(node.port)
        try:
            for _ in range(calls // len(nodes) + (i < calls % len(nodes))):
                headers = signer.headers(
                    "/", body, JSON_11_CONTENT_TYPE, CLOUDTRAIL_TARGET_PREFIX + "LookupEvents"
                )
                started = time.perf_counter()
                status, payload = conn.post("/", body, headers)
                times.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"LookupEvents: HTTP {status}: {payload[:200]!r}")
        finally:
            conn.close()
    return times


def run_config(
    label: str,
    nodes_wanted: int,
    opts: argparse.Namespace,
    epoch: int,
    run: int,
    database_url: str = "",
    postmaster: int | None = None,
) -> Result:
    data_dir = temp_dir("opentrail-bench-nodes-")
    env = {"OPENTRAIL_DATABASE_URL": database_url} if database_url else {}
    nodes = [
        Node(data_dir, env_extra={**env, "OPENTRAIL_NODE_ID": f"bench-{i}"}, database_url=database_url)
        for i in range(nodes_wanted)
    ]
    try:
        for node in nodes:
            node.start()
        creds = nodes[0].root
        assert creds is not None
        per_client = opts.events // (opts.batch * opts.clients)
        ctx = mp.get_context("fork")
        ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [
            ctx.Process(
                target=client_main,
                args=(
                    (run, i, per_client, opts.batch, nodes[i % len(nodes)].port, creds, epoch, 60.0, "lean"),
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
        if database_url:
            # A checkpoint now, not one triggered in the middle of a measured phase by the WAL earlier
            # configurations wrote (its CPU and full-page writes would land on whichever ran then).
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute("CHECKPOINT")
        cpu0 = [cpu_seconds(n.pid) for n in nodes]
        pg0 = postgres_cpu(postmaster) if postmaster else None
        start.set()
        got = [results.get(timeout=600) for _ in procs]
        node_cpu = [cpu_seconds(n.pid) - c for n, c in zip(nodes, cpu0, strict=True)]
        pg_cpu = postgres_cpu(postmaster) - pg0 if postmaster and pg0 is not None else None
        for proc in procs:
            proc.join()
        errors = [e for r in got for e in r.errors]
        if errors:
            raise RuntimeError(f"{label}: ingest failed: {errors[:3]}\n{nodes[0].log()}")
        events = sum(r.events for r in got)
        span = max(r.finished for r in got) - min(r.started for r in got)
        sample = make_batches(client_seed(run, 0), 1, opts.batch, creds.account_id, epoch)[0][0]
        event_name = json.loads(sample)["eventName"]
        times = lookup_times(nodes, creds, opts.lookups, event_name)
        records = [
            [
                r
                for b in make_batches(client_seed(run, i), per_client, opts.batch, creds.account_id, epoch)
                for r in b
            ]
            for i in range(opts.clients)
        ]
        return Result(
            label,
            events,
            span,
            node_cpu,
            pg_cpu,
            percentile(times, 50),
            percentile(times, 99),
            creds.account_id,
            records,
        )
    finally:
        for node in nodes:
            node.stop()
        remove_dir(data_dir)


def raw_copy(url: str, records: list[list[bytes]], account: str) -> float:
    """``bench.postgres``'s baseline over the records the clients sent."""
    return postgres_bench.raw_copy(url, [index_record(r, account) for part in records for r in part])


def schema_url(base: str, name: str) -> str:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{base}?options=-csearch_path%3D{name}"


def print_table(results: list[Result]) -> None:
    header = (
        f"{'configuration':<20} {'events/s':>9}  {'lookup p50':>10}  {'lookup p99':>10}  "
        f"{'CPU s / 1,000 events: nodes':<30} {'PostgreSQL':>10}  {'total':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        per_k = [c / r.events * 1000 for c in r.node_cpu]
        pg = None if r.pg_cpu is None else r.pg_cpu / r.events * 1000
        nodes = " + ".join(f"{c:.3f}" for c in per_k)
        pg_text = "-" if pg is None else f"{pg:.3f}"
        print(
            f"{r.label:<20} {fmt_rate(r.rate):>9}  "
            f"{r.lookup_p50_ms:>7.2f} ms  {r.lookup_p99_ms:>7.2f} ms  "
            f"{nodes:<30} {pg_text:>10}  {cpu_per_k(r):>6.3f}",
            flush=True,
        )


def cpu_per_k(r: Result) -> float:
    """CPU seconds per 1,000 events, every node and PostgreSQL together."""
    return (sum(r.node_cpu) + (r.pg_cpu or 0.0)) / r.events * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=60_000, help="events per configuration [60000]")
    parser.add_argument("--clients", type=int, default=4, help="client processes, spread over the nodes [4]")
    parser.add_argument("--batch", type=int, default=100, help="records per call [100]")
    parser.add_argument("--lookups", type=int, default=300, help="LookupEvents calls per configuration [300]")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three configurations [3]")
    opts = parser.parse_args()

    from tests.support.postgres import PostgresCluster  # run from the repository root, as documented

    cluster = PostgresCluster(free_port())
    cluster.start(durable=True)
    epoch = int(time.time()) - 3600
    try:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        base = cluster.url()
        print(
            f"OpenTrail nodes benchmark: {os.cpu_count()} cores, {opts.events:,} events per configuration, "
            f"{opts.clients} clients x {opts.batch}-record calls (pre-signed), PostgreSQL with fsync on, "
            f"{opts.rounds} rounds"
        )
        rounds: list[list[Result]] = []
        for n in range(opts.rounds):
            print(f"\nround {n + 1}")
            results = [
                run_config("SQLite, 1 node", 1, opts, epoch, 3 * n),
                run_config(
                    "PostgreSQL, 1 node",
                    1,
                    opts,
                    epoch,
                    3 * n + 1,
                    schema_url(base, f"bench_n1_{n}"),
                    postmaster,
                ),
                run_config(
                    "PostgreSQL, 2 nodes",
                    2,
                    opts,
                    epoch,
                    3 * n + 2,
                    schema_url(base, f"bench_n2_{n}"),
                    postmaster,
                ),
            ]
            print_table(results)
            rounds.append(results)
        copy = raw_copy(schema_url(base, "bench_copy"), rounds[0][1].records, rounds[0][1].account)
        print()
        print(f"medians of {opts.rounds} rounds:")
        for k, label in enumerate(r.label for r in rounds[0]):
            rate = median([r[k].rate for r in rounds])
            cpu = median([cpu_per_k(r[k]) for r in rounds])
            p99 = median([r[k].lookup_p99_ms for r in rounds])
            line = (
                f"  {label:<20} {fmt_rate(rate):>9} events/s, lookup p99 {p99:.2f} ms, "
                f"CPU {cpu:.3f} s / 1,000 events"
            )
            print(line + (f", ingest / raw COPY {rate / copy:.2f}" if k else ""))
        print(
            "raw PostgreSQL COPY of the same rows (plain table, 5,000 a transaction): "
            f"{fmt_rate(copy)} rows/s"
        )
        ratios = [r[1].rate / r[0].rate for r in rounds]
        flat = [cpu_per_k(r[2]) / cpu_per_k(r[1]) for r in rounds]
        ratio = median(ratios)
        print(
            "PostgreSQL 1 node / SQLite per round: "
            + ", ".join(f"{x:.2f}" for x in ratios)
            + f"; median {ratio:.2f}  goal >= 0.5 ({'met' if ratio >= 0.5 else 'NOT met'})"
        )
        print(
            "CPU per event, 2 nodes / 1 node per round: "
            + ", ".join(f"{x:.2f}" for x in flat)
            + f"; median {median(flat):.2f}  goal: flat (1.0)"
        )
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


if __name__ == "__main__":
    main()
