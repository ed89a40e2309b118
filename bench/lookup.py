"""LookupEvents latency at 1,000,000 stored events, per lookup attribute, next to the store and raw SQL.

1. Load: realistic records (see ``bench.common``) spread over 3 accounts x 3 regions, event times over the
   last 7 days, written *directly* into the data dir's database before the server starts:
   ``opentrail.ingest.records.index_record`` + ``SQLiteStore.submit`` (what ``append`` does) in 5,000-row
   groups, the same code path HTTP ingest ends in, minus HTTP. The bootstrap account's us-east-1 stream
   (the one the root credentials look up) holds about half of them. The store's ``HistoryIndexer``
   builds event history (``<name>.history.db``) from the log beside the load; the bench waits until
   ``history_cursor`` reaches the last sequence number, so lookups measure the indexed path, not a
   scan of unindexed log rows (the tail lookups also search).
2. In-process: for each attribute, the page LookupEvents asks the store for (50 events + 1 to detect a next
   page) timed through ``SQLiteStore.lookup``, and the bare SQL it runs (captured with sqlite3's trace
   callback and replayed on a plain connection with the history file attached, as the store's are):
   the first page, the page ``--walk-pages`` pages down (reached by walking the cursor as NextToken
   does) and the page in the middle of the matches (its cursor read from ``history``).
3. HTTP: ``opentrail serve`` on that data dir; LookupEvents signed with SigV4 (service cloudtrail) and sent
   on one keep-alive connection; the walked page is reached by walking NextToken, the middle page with
   the token the server's own code seals for that cursor (walking 5,000 pages would take minutes). A
   request's signature does not depend on when it is sent (within 15 minutes), so each distinct request
   is signed once and replayed ``--calls`` times: the figures are the server's, not the client's
   signing cost (printed separately).

    python -m bench.lookup [--events 1000000] [--calls 500] [--walk-pages 20] [--keep DIR]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import msgspec

from opentrail.events import Kind
from opentrail.history import lookup as lookup_op
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX
from opentrail.store import LOOKUP_ATTRIBUTES, EventQuery
from opentrail.store.sqlite import events as sql_events
from opentrail.store.sqlite.history import attach_history, history_path
from opentrail.store.sqlite.store import SQLiteStore, connect
from opentrail.tokens import TokenSealer

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
    memory_kb,
    noise_line,
    percentile,
    read_only,
    remove_dir,
    start_profiler,
    stop_profiler,
    temp_dir,
)
from .loading import GROUP, MAIN_ACCOUNT, await_history, load, schema_digest

GOAL_P99_MS = 5.0
MAIN_REGION = "us-east-1"
PAGE = 50
ATTRIBUTES: tuple[str | None, ...] = (None, *LOOKUP_ATTRIBUTES)


# -- choosing values -------------------------------------------------------------------------------------
@dataclass
class Target:
    attribute: str | None
    value: str | None
    matches: int


@contextlib.contextmanager
def read_history(db_path: Path) -> Iterator[tuple[sqlite3.Connection, int]]:
    """A read-only connection on the log with the history file attached (as ``hist``), and the main
    stream's id."""
    with read_only(db_path) as conn:
        conn.execute("ATTACH DATABASE ? AS hist", (f"file:{history_path(str(db_path))}?mode=ro",))
        sid = conn.execute(
            "SELECT id FROM streams WHERE account = ? AND region = ?", (MAIN_ACCOUNT, MAIN_REGION)
        ).fetchone()[0]
        yield conn, int(sid)


_IN_HISTORY = "stream = ? AND kind = ? AND attr = ? AND time BETWEEN ? AND ?"


def choose_targets(db_path: Path, needed: int, window_ms: tuple[int, int]) -> tuple[list[Target], int]:
    """For each attribute, a value of the main stream with at least ``needed`` events in the window if
    any has (the least frequent such value, so selective attributes stay selective), else the most
    frequent one. Counted in ``history``, the entries lookups search, within the window: a reused data
    dir also holds earlier runs' audit events.
    """
    with read_history(db_path) as (conn, sid):
        scope = (sid, int(Kind.MANAGEMENT))
        every = (*scope, sql_events.EVERY, *window_ms)
        total = int(
            conn.execute(f"SELECT count(*) FROM hist.history WHERE {_IN_HISTORY}", every).fetchone()[0]  # noqa: S608 - constant text
        )
        targets = [Target(None, None, total)]
        middle = conn.execute(
            f"SELECT e.event_id FROM events e WHERE e.seq = (SELECT seq FROM hist.history "  # noqa: S608 - constant text
            f"WHERE {_IN_HISTORY} ORDER BY time, seq LIMIT 1 OFFSET ?)",
            (*every, total // 2),
        ).fetchone()[0]
        targets.append(Target("EventId", str(middle), 1))
        for attribute in ATTRIBUTES[2:]:
            assert attribute is not None
            counts = conn.execute(
                f"SELECT value, count(*) FROM hist.history WHERE {_IN_HISTORY} GROUP BY value",  # noqa: S608 - constant text
                (*scope, sql_events.ATTRIBUTES[attribute], *window_ms),
            ).fetchall()
            enough = sorted((n, str(v)) for v, n in counts if n >= needed)
            n, value = enough[0] if enough else max((n, str(v)) for v, n in counts)
            targets.append(Target(attribute, value, n))
    return targets, total


# -- in-process: the store and its bare SQL --------------------------------------------------------------
def timed(fn: Callable[[], Any], calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


@dataclass
class Page:
    target: Target
    depth: int  # events before this page, newest first
    sealed: bool  # reached with a NextToken the bench sealed (else walked page by page)
    query: EventQuery
    event_ids: list[str]

    @property
    def label(self) -> str:
        if self.depth == 0:
            return "first"
        return f"@{self.depth:,}" + ("*" if self.sealed else "")


def _query(target: Target, window: tuple[int, int]) -> EventQuery:
    return EventQuery(
        account=MAIN_ACCOUNT,
        region=MAIN_REGION,
        kind=Kind.MANAGEMENT,
        start_ms=window[0],
        end_ms=window[1],
        limit=PAGE + 1,
        attribute=target.attribute,
        value=target.value,
    )


def cursor_at(db_path: Path, target: Target, window: tuple[int, int], depth: int) -> tuple[int, int]:
    """The (time, seq) of the ``depth``-th newest match, read from ``history``: the position a NextToken
    carries ``depth`` events into the result (walking there page by page over HTTP would take minutes)."""
    attr = sql_events.EVERY if target.attribute is None else sql_events.ATTRIBUTES[target.attribute]
    with read_history(db_path) as (conn, sid):
        row = conn.execute(
            f"SELECT time, seq FROM hist.history WHERE {_IN_HISTORY} AND value = ? "  # noqa: S608 - constant text
            "ORDER BY time DESC, seq DESC LIMIT 1 OFFSET ?",
            (sid, int(Kind.MANAGEMENT), attr, *window, target.value or "", depth - 1),
        ).fetchone()
    return int(row[0]), int(row[1])


def store_pages(
    store: SQLiteStore, db_path: Path, targets: list[Target], window: tuple[int, int], walk: int
) -> list[Page]:
    """Per target: the first page, the page after ``walk`` pages (cursor walked exactly as NextToken
    walks it) and the page in the middle of the matches (cursor placed there)."""
    pages = []
    for target in targets:
        query = _query(target, window)
        found = store.lookup(query)
        pages.append(Page(target, 0, False, query, [e.row.event_id for e in found[:PAGE]]))
        current, walked = query, 0
        while walked < walk and len(found) > PAGE:
            last = found[PAGE - 1]
            current = dataclasses.replace(current, before=(last.row.time_ms, last.seq))
            found = store.lookup(current)
            walked += 1
        if walked:
            pages.append(Page(target, walked * PAGE, False, current, [e.row.event_id for e in found[:PAGE]]))
        middle = target.matches // 2
        if middle > (walk + 1) * PAGE:
            deep = dataclasses.replace(query, before=cursor_at(db_path, target, window, middle))
            ids = [e.row.event_id for e in store.lookup(deep)[:PAGE]]
            pages.append(Page(target, middle, True, deep, ids))
    return pages


def captured_sql(store: SQLiteStore, query: EventQuery) -> list[str]:
    """The statements (values inlined) ``store.lookup`` runs for ``query``, via sqlite3's trace hook."""
    statements: list[str] = []
    conn = store._reader()  # the calling thread's read connection
    conn.set_trace_callback(statements.append)
    try:
        store.lookup(query)
    finally:
        conn.set_trace_callback(None)
    return statements


# -- HTTP -----------------------------------------------------------------------------------------------
class LookupClient:
    def __init__(self, port: int, creds: Credentials) -> None:
        self.signer = Signer(creds, MAIN_REGION, "cloudtrail", f"127.0.0.1:{port}")
        self.conn = Connection(port)
        self.target = CLOUDTRAIL_TARGET_PREFIX + "LookupEvents"

    def sign(self, params: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = msgspec.json.encode(params)
        return body, self.signer.headers("/", body, "application/x-amz-json-1.1", target=self.target)

    def post(self, signed: tuple[bytes, dict[str, str]]) -> bytes:
        status, payload = self.conn.post("/", *signed)
        if status != 200:
            raise RuntimeError(f"LookupEvents answered {status}: {payload[:300]!r}")
        return payload

    def send(self, signed: tuple[bytes, dict[str, str]]) -> dict[str, Any]:
        result: dict[str, Any] = msgspec.json.decode(self.post(signed))
        return result

    def health(self) -> None:
        self.conn.get("/health")


def request_params(target: Target, window_s: tuple[int, int]) -> dict[str, Any]:
    params: dict[str, Any] = {"StartTime": window_s[0], "EndTime": window_s[1], "MaxResults": PAGE}
    if target.attribute is not None:
        params["LookupAttributes"] = [{"AttributeKey": target.attribute, "AttributeValue": target.value}]
    return params


def http_walk(client: LookupClient, params: dict[str, Any], pages: int) -> dict[str, Any]:
    """Walk ``pages`` pages with NextToken; return the params of the page reached."""
    current = params
    for _ in range(pages):
        token = client.send(client.sign(current)).get("NextToken")
        if not token:
            raise RuntimeError(f"ran out of pages before page {pages} for {params}")
        current = {**params, "NextToken": token}
    return current


def sealed_token(secret: str, params: dict[str, Any], before: tuple[int, int]) -> str:
    """The NextToken the server itself issues for this query at cursor ``before``: sealed with the
    server's secret by its own code (``opentrail.lookup``), so it is the token a client paging down to
    there would hold."""
    lookup = lookup_op.parse_lookup(params)
    caller = cast(Any, SimpleNamespace(account=MAIN_ACCOUNT, region=MAIN_REGION))
    start_ms, end_ms = lookup_op.window(lookup, time.time(), 90)
    return TokenSealer(bytes.fromhex(secret)).seal(
        lookup_op.token_scope(caller, lookup), [start_ms, end_ms, before[0], before[1]]
    )


def token_secret(db_path: Path) -> str:
    with read_only(db_path) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'token_secret'").fetchone()[0])


# -- report -----------------------------------------------------------------------------------------------
def ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct) * 1e3:6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events to store [1000000]")
    parser.add_argument("--calls", type=int, default=500, help="timed calls per page and layer [500]")
    parser.add_argument(
        "--walk-pages", type=int, default=20, help="pages walked with NextToken to reach the second page [20]"
    )
    parser.add_argument("--keep", type=Path, help="data dir to keep and reuse across runs (skips the load)")
    parser.add_argument(
        "--profile", metavar="FILE", help="record the server with py-spy during the HTTP phase"
    )
    opts = parser.parse_args()

    data_dir = opts.keep or temp_dir("opentrail-bench-lookup-")
    db_path = data_dir / "opentrail.db"
    meta_path = data_dir / "bench-window.json"
    print(f"OpenTrail LookupEvents benchmark: {os.cpu_count()} cores, SQLite, {opts.events:,} stored events")
    wall0 = time.perf_counter()
    try:
        kept = msgspec.json.decode(meta_path.read_bytes()) if meta_path.exists() else None
        if (
            isinstance(kept, dict)
            and kept.get("schema") == schema_digest()
            and kept.get("events") == opts.events
        ):
            window_s = (int(kept["window"][0]), int(kept["window"][1]))
            print(f"  reusing the {opts.events:,} events loaded earlier into {data_dir}")
        else:
            if opts.keep:
                remove_dir(data_dir)
            data_dir.mkdir(parents=True, exist_ok=True)
            last = int(time.time()) - 3600
            window_s = (last - 7 * 86400, last)
            print(
                f"  loading directly into the store ({data_dir}) before the server starts: index_record + "
                f"SQLiteStore.submit, {GROUP:,}-row group commits; the store's HistoryIndexer builds history"
            )
            started = time.perf_counter()
            rate = load(db_path, opts.events, window_s[0], window_s[1])
            print(
                f"  log: {fmt_rate(rate)} events/s through the store; log + history complete after "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            meta_path.write_bytes(
                msgspec.json.encode({"schema": schema_digest(), "events": opts.events, "window": window_s})
            )
            history_mb = Path(history_path(str(db_path))).stat().st_size / 2**20
            print(f"  log {db_path.stat().st_size / 2**20:,.0f} MiB, history {history_mb:,.0f} MiB")
        window_ms = (window_s[0] * 1000, window_s[1] * 1000)
        targets, main_total = choose_targets(db_path, 4 * (opts.walk_pages + 1) * PAGE, window_ms)
        print(
            f"  main stream (account {MAIN_ACCOUNT}, {MAIN_REGION}, management): {main_total:,} events; "
            f"window StartTime..EndTime covers all of them; MaxResults {PAGE} (the store is asked for "
            f"{PAGE + 1})"
        )

        # In-process: the store, then its bare SQL on a plain connection.
        store = SQLiteStore(str(db_path))
        try:
            high, waited = await_history(store)  # a kept dir: earlier runs' audit events, a lost history
            print(f"  history covers every event (seq {high:,}; waited {waited:.1f} s)")
            pages = store_pages(store, db_path, targets, window_ms, opts.walk_pages)
            store_times = {}
            raw_times = {}
            raw_conn = connect(str(db_path))
            attach_history(raw_conn, str(db_path))
            for page in pages:
                statements = captured_sql(store, page.query)
                store.lookup(page.query)
                store_times[id(page)] = timed(partial(store.lookup, page.query), opts.calls)

                def replay(sql: list[str] = statements) -> None:
                    for text in sql:
                        raw_conn.execute(text).fetchall()

                replay()
                raw_times[id(page)] = timed(replay, opts.calls)
            raw_conn.close()
        finally:
            store.close()

        # HTTP against the real server on the same data.
        server = Server(data_dir, env_extra={"OPENTRAIL_ACCOUNT_ID": MAIN_ACCOUNT})
        server.start()
        try:
            assert server.root is not None
            client = LookupClient(server.port, server.root)
            sample_body = msgspec.json.encode(request_params(targets[2], window_s))
            boto_us = botocore_sign_us(server.root, "cloudtrail", "/", sample_body)
            lean_us = lean_sign_us(client.signer, "/", sample_body)
            profiler = start_profiler(opts.profile, server.pid) if opts.profile else None
            client.health()
            floor = timed(client.health, opts.calls)
            http_times = {}
            server_cpu = {}
            mismatches = []
            gauge: list[float] = []
            secret = token_secret(db_path)
            for page in pages:
                params = request_params(page.target, window_s)
                if page.sealed:
                    assert page.query.before is not None
                    params["NextToken"] = sealed_token(secret, params, page.query.before)
                elif page.depth:
                    params = http_walk(client, params, page.depth // PAGE)
                ids = [e["EventId"] for e in client.send(client.sign(params))["Events"]]
                if ids != page.event_ids:
                    mismatches.append(f"{page.target.attribute or '(none)'} {page.label}")
                signed = client.sign(params)
                client.send(signed)
                cpu0 = cpu_seconds(server.pid)
                http_times[id(page)] = timed(partial(client.post, signed), opts.calls)
                server_cpu[id(page)] = (cpu_seconds(server.pid) - cpu0) / opts.calls
                gauge += contention(40)
            client.conn.close()
            stop_profiler(profiler)
            peak_kb, rss_kb = memory_kb(server.pid)
        finally:
            server.stop()
    finally:
        if not opts.keep:
            remove_dir(data_dir)

    print(
        f"  client: {opts.calls} calls per page on one keep-alive http.client connection, each distinct "
        f"request signed once (botocore SigV4Auth would add {boto_us:,.0f} µs per call, hand-rolled "
        f"hmac {lean_us:,.0f} µs)"
    )
    print()
    header = (
        f"{'attribute':<13} {'value':<34} {'matches':>8}  {'page':>8}  "
        f"{'HTTP p50':>8} {'HTTP p99':>8} {'srv CPU':>7}  {'store p50':>9} {'store p99':>9}  "
        f"{'SQL p50':>7} {'SQL p99':>7}"
    )
    print(header + "   (ms)")
    print("-" * len(header))
    worst = 0.0
    for page in pages:
        http = http_times[id(page)]
        worst = max(worst, percentile(http, 99) * 1e3)
        value = page.target.value or "-"
        if len(value) > 34:
            value = "…" + value[-33:]
        label = page.label
        in_store, raw = store_times[id(page)], raw_times[id(page)]
        print(
            f"{page.target.attribute or '(none)':<13} {value:<34} {page.target.matches:>8,}  {label:>8}  "
            f"{ms(http, 50):>8} {ms(http, 99):>8} {server_cpu[id(page)] * 1e3:>7.2f}  "
            f"{ms(in_store, 50):>9} {ms(in_store, 99):>9}  "
            f"{ms(raw, 50):>7} {ms(raw, 99):>7}"
        )
    print()
    print("  page: 'first'; '@N' = the page N events down, reached by walking NextToken (HTTP) or the")
    print("  (time, seq) cursor (store) page by page; '@N*' = the middle of the matches, reached with the")
    print("  NextToken the server's own code seals for that cursor (the store is given the same cursor)")
    print(
        "  srv CPU: the server process' CPU time per LookupEvents call (all threads, audit writes included)"
    )
    if mismatches:
        print(f"  WARNING: HTTP pages differ from the store's for: {', '.join(mismatches)}")
    else:
        print("  every HTTP page returned the same events as the store's page")
    print(
        f"  HTTP floor on the same connection (unsigned GET /health): p50 {ms(floor, 50).strip()} ms, "
        f"p99 {ms(floor, 99).strip()} ms"
    )
    print("  " + noise_line(gauge))
    print(f"  server RSS after the run: peak {peak_kb / 1024:.0f} MB, now {rss_kb / 1024:.0f} MB")
    verdict = "met" if worst < GOAL_P99_MS else "NOT met"
    print(f"goal: LookupEvents p99 < {GOAL_P99_MS:g} ms   worst p99 measured {worst:.2f} ms  ({verdict})")
    print(f"wall time {time.perf_counter() - wall0:.0f} s")


if __name__ == "__main__":
    main()
