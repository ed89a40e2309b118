"""What the benchmarks share: a real server process, lean SigV4, RSS, CPU and percentiles. The records
they send are made by ``bench/records.py``."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

OPENTRAIL = [sys.executable, "-m", "opentrail"]


# -- the server process -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    account_id: str
    access_key_id: str
    secret: str


@dataclass
class Server:
    """A real ``opentrail serve`` in its own data directory on a free loopback port."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    root: Credentials | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "opentrail.db"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENTRAIL_"))}
        env.update(
            OPENTRAIL_DATA_DIR=str(self.data_dir),
            OPENTRAIL_PORT=str(self.port),
            OPENTRAIL_LOG_LEVEL="warning",
        )
        env.update(self.env_extra)
        return env

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen([*OPENTRAIL, "serve"], env=self.env(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"server did not start: {self.log()}")
        self.root = self.read_root()

    def read_root(self) -> Credentials:
        """Root credentials as a user finds them: the credentials file and the bootstrap account."""
        values = {}
        for line in (self.data_dir / "credentials").read_text().splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
        with read_only(self.db_path) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'bootstrap_account'").fetchone()
        return Credentials(str(row[0]), values["aws_access_key_id"], values["aws_secret_access_key"])

    def log(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to a database file, closed on exit."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def migration_sql() -> list[str]:
    """The store's own SQLite migration files, in order (the raw baselines apply exactly these)."""
    folder = resources.files("opentrail.store") / "migrations" / "sqlite"
    found = sorted(
        (int(entry.name.split("_", 1)[0]), entry.read_text())
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return [sql for _, sql in found]


# -- process figures ----------------------------------------------------------------------------------
def memory_kb(pid: int) -> tuple[int, int]:
    """(peak RSS, current RSS) in KiB from /proc/<pid>/status (VmHWM, VmRSS)."""
    values = {"VmHWM": 0, "VmRSS": 0}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0])
    return values["VmHWM"], values["VmRSS"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (the OS names: the store names its writer and indexer threads; the
    event loop is the main thread, ``python``), summed over threads sharing a name."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def start_profiler(out: str, pid: int) -> subprocess.Popen[bytes]:
    """py-spy (``pip install py-spy`` into the venv; not a project dependency) on the server, all threads,
    idle frames included so waits on fsync and locks show up (BENCH_PROFILE_IDLE=0: CPU only;
    BENCH_PROFILE_GIL=1: only the thread holding the GIL); collapsed stacks for flamegraph tools."""
    beside = Path(sys.executable).parent / "py-spy"
    command = str(beside) if beside.exists() else "py-spy"
    idle = ["--idle"] if os.environ.get("BENCH_PROFILE_IDLE", "1") == "1" else []
    idle += ["--gil"] if os.environ.get("BENCH_PROFILE_GIL") == "1" else []
    options = ["--threads", *idle, "--rate", "250", "--format", "raw", "--output", out]
    return subprocess.Popen(
        [command, "record", "--pid", str(pid), *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


# -- statistics ---------------------------------------------------------------------------------------
def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def contention(samples: int = 500) -> list[float]:
    """Seconds taken by a fixed ~0.1 ms CPU task, ``samples`` times: on a shared machine p99 >> p50 means
    this process was descheduled, which inflates every p99 measured beside it by about as much."""
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        sum(range(2500))
        out.append(time.perf_counter() - started)
    return out


def noise_line(samples: list[float]) -> str:
    p50, p99 = percentile(samples, 50) * 1e3, percentile(samples, 99) * 1e3
    return (
        f"machine noise: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares "
        f"them); a fixed 0.1 ms CPU task, sampled between measurements, took p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms (the excess is time descheduled)"
    )


# -- lean SigV4 -----------------------------------------------------------------------------------------
class Signer:
    """SigV4 for POST requests with a body, hand-rolled with hashlib/hmac (botocore's AWSRequest machinery
    costs several times more per call). The server verifies it like any botocore signature."""

    def __init__(self, creds: Credentials, region: str, service: str, host: str) -> None:
        self.creds = creds
        self.region = region
        self.service = service
        self.host = host
        self._keys: dict[str, bytes] = {}

    def _key(self, date: str) -> bytes:
        key = self._keys.get(date)
        if key is None:
            key = hmac.new(f"AWS4{self.creds.secret}".encode(), date.encode(), hashlib.sha256).digest()
            for part in (self.region, self.service, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys[date] = key
        return key

    def headers(
        self, path: str, body: bytes, content_type: str, target: str | None = None, now: float | None = None
    ) -> dict[str, str]:
        amz_date = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC).strftime(
            "%Y%m%dT%H%M%SZ"
        )
        date = amz_date[:8]
        headers = {"content-type": content_type, "host": self.host, "x-amz-date": amz_date}
        if target is not None:
            headers["x-amz-target"] = target
        names = sorted(headers)
        canonical = "\n".join(
            [
                "POST",
                path,
                "",
                "".join(f"{name}:{headers[name]}\n" for name in names),
                ";".join(names),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(self._key(date), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.creds.access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature}"
        )
        return headers


class Connection:
    """One keep-alive HTTP/1.1 connection (stdlib ``http.client``: the leanest client at hand)."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self._conn.request("POST", path, body=body, headers=headers)
        response = self._conn.getresponse()
        return response.status, response.read()

    def get(self, path: str) -> tuple[int, bytes]:
        self._conn.request("GET", path)
        response = self._conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self._conn.close()


def botocore_sign_us(creds: Credentials, service: str, path: str, body: bytes, calls: int = 200) -> float:
    """Microseconds botocore's SigV4Auth (what ``opentrail.client.Client`` uses) spends per request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    boto_creds = BotoCredentials(creds.access_key_id, creds.secret)
    started = time.perf_counter()
    for _ in range(calls):
        request = AWSRequest(
            method="POST", url=f"http://127.0.0.1:1{path}", data=body, headers={"Content-Type": "x"}
        )
        SigV4Auth(boto_creds, service, "us-east-1").add_auth(request)
        request.prepare()
    return (time.perf_counter() - started) / calls * 1e6


def lean_sign_us(signer: Signer, path: str, body: bytes, calls: int = 200) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        signer.headers(path, body, "application/json")
    return (time.perf_counter() - started) / calls * 1e6


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"
