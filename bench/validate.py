"""``opentrail validate-logs`` against ``aws cloudtrail validate-logs`` on the same 24 hours of digests.

1. Build: 24 hourly digests (one chain, signed with a key made by ``Signer`` in the data dir's store)
   listing ``--logs`` log files each of ``--records`` realistic records (``bench.common``), written into
   the data dir's local bucket store before ``opentrail serve`` starts, so the server publishes the key
   through ListPublicKeys and serves the objects through its S3 API.
2. Byte-compile OpenTrail, as installing it does (the AWS CLI's modules come compiled).
3. Run both validators ``--runs`` times over the whole day through the server (same arguments, same
   endpoint), and ``opentrail validate-logs --storage-url file://`` (no server in the way), in an order
   rotated each round; check each reports every file valid, and print the median wall times and the
   ratios of the medians.

    python -m bench.validate [--logs 12] [--records 200] [--runs 5] [--workers 16]

Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from opentrail.clock import FixedClock
from opentrail.delivery.digests import ListedLog, PreviousDigest, build_digest, metadata
from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.delivery.logfiles import build_log_file, unique_suffix
from opentrail.delivery.signing import Signer
from opentrail.storage import LocalStorage
from opentrail.store import open_store

from .common import (
    Server,
    remove_dir,
    temp_dir,
)
from .records import (
    RecordFactory,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "bench"
BUCKET = "bench-trail"
T0 = int(datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC).timestamp())
AWS_CLI = str(Path(sys.executable).parent / "aws")
OPENTRAIL = str(Path(sys.executable).parent / "opentrail")


def build(data_dir: Path, logs: int, records: int) -> int:
    """Write the day's chain; returns the number of log files."""
    store = open_store(f"sqlite:///{data_dir / 'opentrail.db'}")
    try:
        key = Signer.for_data_dir(store, data_dir, FixedClock(T0 - 60)).current_key(ACCOUNT, REGION)
    finally:
        store.close()
    storage = LocalStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    factory = RecordFactory(seed=7)
    previous: PreviousDigest | None = None
    count = 0
    for hour in range(24):
        start = T0 + hour * 3600
        listed = []
        for n in range(logs):
            at = start + (n + 1) * (3600 // (logs + 1))
            log = build_log_file(list(factory.records(records, ACCOUNT, REGION, at - 60)))
            name = log_file_key(None, ACCOUNT, REGION, at, unique_suffix(f"{hour}-{n}".encode()))
            storage.put_object(BUCKET, name, log.data)
            listed.append(
                ListedLog(BUCKET, name, log.sha256_hex, log.newest_event_time, log.oldest_event_time)
            )
            count += 1
        dkey = digest_key(None, ACCOUNT, REGION, TRAIL, REGION, start + 3600)
        digest = build_digest(
            account=ACCOUNT,
            start=start,
            end=start + 3600,
            bucket=BUCKET,
            key=dkey,
            fingerprint=key.public.fingerprint,
            log_files=listed,
            previous=previous,
        )
        signature = key.sign(digest.signing_string.encode())
        storage.put_object(BUCKET, dkey, digest.gz_bytes, metadata(signature))
        previous = digest.link(signature)
    return count


def precompile() -> None:
    """Byte-compile OpenTrail as installing a wheel does: the AWS CLI's modules come compiled with it, and
    an editable install run with PYTHONDONTWRITEBYTECODE would otherwise compile ours on every start."""
    import compileall

    import opentrail

    compileall.compile_dir(str(Path(opentrail.__file__).parent), quiet=1)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - began, done


def client_env(server: Server) -> dict[str, str]:
    """Both validators' environment: the server's root credentials and endpoint, nothing of ours."""
    assert server.root is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENTRAIL_"))}
    env.update(
        AWS_ACCESS_KEY_ID=server.root.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.root.secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{server.port}",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def race(
    commands: list[tuple[str, list[str]]], env: dict[str, str], runs: int, files: int
) -> dict[str, list[float]]:
    """Wall times of each command over ``runs`` rounds; each run must find every file valid."""
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    for round_ in range(runs):
        # Rotate the order each round: on a shared machine no tool always runs right after another's
        # burst of CPU (or first, into a quiet machine).
        shift = round_ % len(commands)
        for name, argv in commands[shift:] + commands[:shift]:
            seconds, done = timed(argv, env)
            if done.returncode != 0 or f"{files}/{files} log files valid" not in done.stdout:
                raise SystemExit(f"{name} did not validate the day: {done.stdout}\n{done.stderr}")
            times[name].append(seconds)
    return times


def report(times: dict[str, list[float]]) -> None:
    aws, ours = statistics.median(times["aws"]), statistics.median(times["opentrail"])
    for name, label in (
        ("aws", "aws cloudtrail validate-logs"),
        ("opentrail", "opentrail validate-logs"),
    ):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{label:<30} median {statistics.median(times[name]):.2f} s  ({runs})")
    print(
        f"ratio (aws / opentrail): {aws / ours:.1f}x, reading the store directly: "
        f"{aws / statistics.median(times['direct']):.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=12, help="log files per digest")
    parser.add_argument("--records", type=int, default=200, help="records per log file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()

    data_dir = temp_dir("opentrail-bench-validate-")
    server = Server(data_dir=data_dir, env_extra={"OPENTRAIL_ACCOUNT_ID": ACCOUNT})
    try:
        began = time.perf_counter()
        files = build(data_dir, args.logs, args.records)
        precompile()
        print(f"built 24 digests, {files} log files in {time.perf_counter() - began:.1f} s")
        server.start()
        common = [
            "--trail-arn",
            f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}",
            "--start-time",
            "2024-05-01T00:00:00Z",
            "--end-time",
            "2024-05-02T00:00:00Z",
            "--s3-bucket",
            BUCKET,
        ]
        ours = [OPENTRAIL, "validate-logs", *common, "--workers", str(args.workers)]
        commands = [
            ("aws", [AWS_CLI, "cloudtrail", "validate-logs", *common]),
            ("opentrail", ours),
            ("direct", [*ours, "--storage-url", f"file://{data_dir / 'buckets'}"]),
        ]
        report(race(commands, client_env(server), args.runs, files))
    finally:
        server.stop()
        remove_dir(data_dir)


if __name__ == "__main__":
    main()
