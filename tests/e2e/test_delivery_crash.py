"""Delivery is exactly-once in effect (DESIGN.md rule 2): kill -9 the server again and again during steady
ingest and delivery; every acknowledged management event ends up in exactly one delivered log file, and
both validators accept the chain.

A log file's key and bytes are a function of (trail, source region, event range, the batch's recorded
delivery time), and the range is recorded before any object is written, so a crash between writing a
file and advancing the cursor rewrites the same object rather than delivering the range a second time
under another key. Digests are rebuilt from recorded state the same way.

One writer thread ingests batches through ``POST /IngestRecords`` and remembers a batch's eventIDs only
once the call returned success; calls caught by a kill fail and are retried with new ids. The server
(1-second delivery, 3-second digests, validation on) is killed four times at seeded random moments and
restarted on the same data directory. Afterwards logging is stopped so a final digest covers every file,
and the delivered files are read straight from the local bucket folder.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.clock import FixedClock
from opentrail.delivery import worker as delivery
from opentrail.delivery.signing import Signer
from opentrail.errors import RemoteError
from opentrail.ingest.records import index_record
from opentrail.storage import Encryption, LocalStorage, ObjectInfo, StorageError
from opentrail.store import Doc, open_store
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails
from tests.support.server import Credentials, Server, iso, make_server, management_record, wait_for

pytestmark = pytest.mark.slow

REGION = "us-east-1"
# Where each kill aims: just after a new log file, just after a new digest, or anywhere (None).
KILL_TRIGGERS = ("CloudTrail", "CloudTrail-Digest", "CloudTrail", None)
BATCH = 20
TRAIL = "crashproof"


@pytest.fixture
def server() -> Iterator[Server]:
    yield from make_server(env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "3"})


def batch(account: str) -> tuple[bytes, list[str]]:
    """A body of ``BATCH`` unique management write events in the trail's region, and their eventIDs."""
    records: list[dict[str, Any]] = []
    for _ in range(BATCH):
        records.append(management_record(account, REGION, user="steady"))
    return json.dumps({"Records": records}).encode(), [r["eventID"] for r in records]


@dataclass
class Writer:
    """Ingests batches until stopped; a failed call (the server is down) is retried with a new batch."""

    server: Server
    creds: Credentials
    stop: threading.Event
    acked: list[str] = field(default_factory=list)
    failures: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        credentials = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        # A short timeout: a call caught by a kill must fail fast, not hang the test.
        with Client(self.server.endpoint, credentials, REGION, timeout=5.0) as client:
            while not self.stop.is_set():
                body, ids = batch(self.creds.account_id)
                try:
                    result = client.ingest_records(body)
                except RemoteError as err:
                    self.failures += 1
                    if err.status >= 400 and err.status != 503:  # refused, not interrupted: a real bug
                        self.errors.append(f"{err.status} {err.code}: {err.message}")
                    time.sleep(0.05)
                    continue
                if result.get("accepted") != BATCH or result.get("failed"):
                    self.errors.append(f"partial answer: {result}")
                    continue
                self.acked.extend(ids)
                time.sleep(0.02)  # steady, not flat out: delivery and restarts share two cores


def log_files(server: Server, bucket: str, account: str) -> dict[str, list[dict[str, Any]]]:
    """Every delivered log file in the local bucket folder (in-flight temporary files excluded)."""
    root = server.data_dir / "buckets" / bucket
    folder = root / "AWSLogs" / account / "CloudTrail"
    files: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.rglob("*.json.gz")):
        if path.name.startswith(".opentrail-tmp-"):
            continue
        files[path.relative_to(root).as_posix()] = json.loads(gzip.decompress(path.read_bytes()))["Records"]
    return files


def digest_keys(server: Server, bucket: str, account: str) -> list[str]:
    root = server.data_dir / "buckets" / bucket
    folder = root / "AWSLogs" / account / "CloudTrail-Digest" / REGION
    paths = (p for p in folder.rglob("*.json.gz") if not p.name.startswith(".opentrail-tmp-"))
    return sorted((p.relative_to(root).as_posix() for p in paths), key=lambda k: k[-24:])


def chain(server: Server, bucket: str, newest: str) -> list[str]:
    """Digest keys from ``newest`` back to its chain's starting digest, following the links."""
    root = server.data_dir / "buckets" / bucket
    walked: list[str] = []
    key: str | None = newest
    while key is not None and len(walked) < 1000:
        walked.append(key)
        key = json.loads(gzip.decompress((root / key).read_bytes()))["previousDigestS3Object"]
    return walked


def occurrences(files: dict[str, list[dict[str, Any]]]) -> Counter[str]:
    return Counter(r["eventID"] for records in files.values() for r in records)


def objects(server: Server, bucket: str, folder: str) -> dict[str, bytes]:
    """Every object under ``folder`` of the local bucket, by key (in-flight temporary files excluded)."""
    root = server.data_dir / "buckets" / bucket
    found: dict[str, bytes] = {}
    for path in sorted((root / folder).rglob("*.json.gz")):
        if not path.name.startswith(".opentrail-tmp-"):
            with contextlib.suppress(FileNotFoundError):
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def names(server: Server, bucket: str, folder: str) -> set[str]:
    root = server.data_dir / "buckets" / bucket / folder
    return {p.name for p in root.rglob("*.json.gz") if not p.name.startswith(".opentrail-tmp-")}


def kill_soon(
    server: Server, bucket: str, folder: str | None, rng: random.Random, settle: bool = True
) -> None:
    """Kill -9 the server: right after a new object appears under ``folder`` (between writing it and
    recording it, with luck), or at a random moment when ``folder`` is None. Bounded either way."""
    if settle:
        time.sleep(rng.uniform(0.8, 1.5))  # ingest and delivery resume after the restart
    if folder is None:
        time.sleep(rng.uniform(0.0, 1.5))
    else:
        before = names(server, bucket, folder)
        deadline = time.monotonic() + 6.0
        while time.monotonic() < deadline and not names(server, bucket, folder) - before:
            time.sleep(0.005)
    server.kill()


def pending_batch(server: Server, account: str, arn: str) -> str | None:
    """With the server down: the eventID that opens the range delivery had recorded but not finished,
    if any (that range's file may already be written: the case the deterministic rewrite exists for)."""
    store = open_store(f"sqlite:///{server.data_dir / 'opentrail.db'}")
    try:
        doc = store.get_doc("delivery", account, arn)
        assert doc is not None
        batch = doc.body.get("batch")
        if batch is None:
            return None
        first = store.read_after(int(batch["first"]) - 1, 1)
        assert first
        assert first[0].seq == batch["first"]
        event_id: str = json.loads(first[0].row.record)["eventID"]
        return event_id
    finally:
        store.close()


def test_kill_9_during_delivery_delivers_each_event_once(server: Server) -> None:
    started = time.monotonic()
    rng = random.Random(3)
    creds = server.new_account("delivery-crash")
    account = creds.account_id
    bucket = f"crash-{uuid.uuid4().hex[:12]}"
    t0 = iso(time.time() - 60)
    server.client("s3", creds).create_bucket(Bucket=bucket)
    cloudtrail = server.client("cloudtrail", creds)
    arn = cloudtrail.create_trail(Name=TRAIL, S3BucketName=bucket, EnableLogFileValidation=True)["TrailARN"]
    cloudtrail.start_logging(Name=TRAIL)

    stop = threading.Event()
    writer = Writer(server, creds, stop)
    thread = threading.Thread(target=writer.run, name="steady-writer")
    thread.start()
    # What each kill left in the bucket, and the first event of a range caught mid-delivery.
    at_kill: list[tuple[dict[str, bytes], str | None]] = []
    try:
        for folder in KILL_TRIGGERS:
            kill_soon(server, bucket, folder and f"AWSLogs/{account}/{folder}", rng)
            at_kill.append((objects(server, bucket, "AWSLogs"), pending_batch(server, account, arn)))
            server.start(timeout=30)
        time.sleep(1.0)  # a last stretch of ingest on the final server
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    assert writer.errors == []
    acked = set(writer.acked)
    assert len(acked) == len(writer.acked)
    assert len(acked) >= 4 * BATCH, f"only {len(acked)} events acknowledged"

    # Every acknowledged event arrives (bounded), then StopLogging's final digest closes the chain.
    def all_delivered() -> dict[str, list[dict[str, Any]]] | None:
        files = log_files(server, bucket, account)
        return files if acked <= set(occurrences(files)) else None

    wait_for(all_delivered, f"{len(acked)} acknowledged events in log files", timeout=45)
    cloudtrail = server.client("cloudtrail", creds)
    cloudtrail.stop_logging(Name=TRAIL)
    stopped_at = cloudtrail.get_trail_status(Name=TRAIL)["StopLoggingTime"].timestamp()
    # One more kill, as soon as the final digest is written: it must not be written again under another
    # key, nor followed by a second chain.
    kill_soon(server, bucket, f"AWSLogs/{account}/CloudTrail-Digest", rng, settle=False)
    at_kill.append((objects(server, bucket, "AWSLogs"), None))
    server.start(timeout=30)

    def final_digest() -> bool:
        keys = digest_keys(server, bucket, account)
        if not keys or time.time() < stopped_at + 1.5:
            return False
        newest = json.loads(gzip.decompress((server.data_dir / "buckets" / bucket / keys[-1]).read_bytes()))
        return bool(newest["digestEndTime"] >= iso(stopped_at))

    wait_for(final_digest, "the final digest after StopLogging")
    time.sleep(2.0)  # two delivery ticks of the restarted server: room for any extra digest to appear

    files = log_files(server, bucket, account)
    seen = occurrences(files)
    duplicated = {event_id: n for event_id, n in seen.items() if n > 1}
    assert duplicated == {}, f"{len(duplicated)} events delivered more than once"
    missing = acked - set(seen)
    assert missing == set()
    # Whatever else arrived is the account's own (audited CloudTrail calls, or ingest calls cut off by a
    # kill after their commit): nothing from elsewhere.
    for records in files.values():
        assert all(r["recipientAccountId"] == account for r in records)
    digests = digest_keys(server, bucket, account)
    assert len(digests) >= 2
    # One chain, every digest in it: newest to oldest by previousDigestS3Object links, none left over.
    assert chain(server, bucket, digests[-1]) == digests[::-1]

    # A log file, once written, never changes: a range rewritten after a kill gets the same key and bytes.
    written = {
        key: data for snapshot, _ in at_kill for key, data in snapshot.items() if "/CloudTrail/" in key
    }
    final = objects(server, bucket, f"AWSLogs/{account}/CloudTrail")
    assert {key for key, data in written.items() if final.get(key) != data} == set()
    # How many kills landed between writing a range's file and recording it (luck; reported, not required).
    rewritten = 0
    for snapshot, first in at_kill:
        if first is not None:
            holder = next(
                key for key, records in files.items() if any(r["eventID"] == first for r in records)
            )
            rewritten += holder in snapshot
    print(
        f"acked={len(acked)} files={len(files)} digests={len(digests)} failed_calls={writer.failures} "
        f"pending_at_kill={sum(first is not None for _, first in at_kill)} rewritten={rewritten}"
    )

    # Both validators accept the chain: every digest and every delivered log file, nothing INVALID.
    args = ("--trail-arn", arn, "--start-time", t0, "--region", REGION, "--verbose")
    aws = server.aws("cloudtrail", "validate-logs", *args, creds=creds)
    ours = server.cli_as(creds, "validate-logs", *args, check=False)
    for name, result in (("aws", aws), ("opentrail", ours)):
        report = result.stdout + result.stderr
        assert result.returncode == 0, f"{name} validate-logs: {report}"
        assert "INVALID" not in report, f"{name} validate-logs: {report}"
        for key in digests:
            assert f"Digest file\ts3://{bucket}/{key}\tvalid" in result.stdout, f"{name}: {key}"
        for key in files:
            assert f"Log file\ts3://{bucket}/{key}\tvalid" in result.stdout, f"{name}: {key}"
        assert f"{len(digests)}/{len(digests)} digest files valid" in result.stdout, name
        assert f"{len(files)}/{len(files)} log files valid" in result.stdout, name
    assert time.monotonic() - started < 90


# -- in process: a final digest whose write was not recorded is rewritten under the same key ------------


class _LosesADigestAck(LocalStorage):
    """A bucket store that writes a digest, then fails once as if the process died before recording it
    (a fake backend, not a mock: the object really is written)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.armed = False

    def _put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None = None,
    ) -> ObjectInfo:
        info = super()._put_object(bucket, key, data, metadata, content_type, sse)
        if self.armed and "/CloudTrail-Digest/" in key:
            self.armed = False
            raise StorageError("connection reset after the write")
        return info


def test_final_digest_rewritten_after_a_lost_write_keeps_its_key(tmp_path: Path) -> None:
    account, bucket = "111122223333", "final-bucket"
    arn = f"arn:aws:cloudtrail:us-east-1:{account}:trail/t"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = _LosesADigestAck(tmp_path / "buckets")
    storage.create_bucket(bucket)
    clock = FixedClock(1_760_000_000.0)
    trail = trails.Trail(
        name="t",
        trail_arn=arn,
        home_region=REGION,
        s3_bucket_name=bucket,
        log_file_validation_enabled=True,
        is_logging=True,
        start_logging_time=clock.now(),
    )
    store.insert_doc(trails.to_doc(trail, account))
    delivery.logging_started(store, account, trail)
    worker = delivery.Deliverer(store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0)
    digest_folder = f"AWSLogs/{account}/CloudTrail-Digest/"
    try:
        body, ids = batch(account)
        store.append([index_record(json.dumps(r).encode(), account) for r in json.loads(body)["Records"]])
        worker.run_once(force=True)  # the log file; the digest period opens
        clock.advance(2)
        stopped = msgspec.structs.replace(trail, is_logging=False, stop_logging_time=clock.now())

        def stop(doc: Doc) -> Doc:
            doc.body = msgspec.to_builtins(stopped)
            return doc

        store.update_doc(trails.KIND, account, arn, stop)
        delivery.logging_stopped(store, account, trail)
        storage.armed = True
        worker.run_once(force=True)  # the final digest is written, and its write "fails"
        first = storage.list_objects(bucket, digest_folder).objects
        assert len(first) == 1
        written = storage.get_object(bucket, first[0].key)
        assert "LatestDigestDeliveryError" in delivery.status(store, account, arn)
        clock.advance(30)  # past the retry's backoff: "now" has moved on, the final digest's end has not
        worker.run_once(force=True)
        again = storage.list_objects(bucket, digest_folder).objects
        assert [o.key for o in again] == [first[0].key]
        rewritten = storage.get_object(bucket, again[0].key)
        assert rewritten[1] == written[1]
        assert rewritten[0].metadata == written[0].metadata
        listed = json.loads(gzip.decompress(rewritten[1]))["logFiles"]
        assert len(listed) == 1
        assert "LatestDigestDeliveryError" not in delivery.status(store, account, arn)
        # Finished: the stop is settled and the chain closed, so a later pass writes nothing more.
        doc = store.get_doc(delivery.KIND, account, arn)
        assert doc is not None
        assert doc.body["until"] is None
        assert doc.body["regions"] == {}
        clock.advance(30)
        worker.run_once(force=True)
        assert [o.key for o in storage.list_objects(bucket, digest_folder).objects] == [first[0].key]
        assert len(ids) == BATCH
    finally:
        store.close()
