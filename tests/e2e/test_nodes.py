"""Several ``opentrail serve`` nodes on one PostgreSQL and one S3 endpoint (issue 5, part 4 and 5).

Nodes share the database (``OPENTRAIL_DATABASE_URL``), the bucket store (moto's S3 server on loopback,
``OPENTRAIL_STORAGE_URL=s3://``) and the data directory's ``master.key`` (it seals the digest-signing
keys, so every node must hold the same one: here they share the data directory). Trail delivery is
split by leases in the delivery documents (``leases.py``):

- two nodes, clients writing to both, one node killed with kill -9 mid-run: the survivor takes the dead
  node's trails within a lease period; every acknowledged event is in exactly one log file of each trail
  and ``aws cloudtrail validate-logs`` accepts every chain;
- any node answers any call with the same result;
- ``--role api`` delivers nothing, ``--role worker`` delivers what an api node ingested and serves no API;
- PostgreSQL restarted under ingest: calls during the outage fail with the retryable
  ``ServiceUnavailableException`` (503, never a 500), nothing acknowledged is lost, the node reconnects.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from opentrail.store import open_store
from tests.support.server import AWS_CLI, Credentials, Server, free_port, iso, management_record, wait_for

pytestmark = pytest.mark.slow

REGION = "us-east-1"
MOTO_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
LEASE_SECONDS = 3.0
BATCH = 20


def moto_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=MOTO_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_KEYS["AWS_SECRET_ACCESS_KEY"],
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


@dataclass
class Deployment:
    """Nodes on one database, one S3 endpoint and one data directory (for ``master.key``)."""

    url: str
    moto: str
    data_dir: Path
    nodes: list[Server] = field(default_factory=list)

    def env(self, name: str, role: str = "all") -> dict[str, str]:
        return {
            "OPENTRAIL_DATABASE_URL": self.url,
            "OPENTRAIL_STORAGE_URL": "s3://",
            "OPENTRAIL_DELIVERY_INTERVAL": "1",
            "OPENTRAIL_DIGEST_INTERVAL": "3",
            "OPENTRAIL_LEASE_SECONDS": str(LEASE_SECONDS),
            "OPENTRAIL_NODE_ID": name,
            "OPENTRAIL_ROLE": role,
            "AWS_ENDPOINT_URL_S3": self.moto,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **MOTO_KEYS,
        }

    def start(self, name: str, role: str = "all") -> Server:
        node = Server(data_dir=self.data_dir, port=free_port(), env_extra=self.env(name, role))
        node.start(timeout=30)
        self.nodes.append(node)
        return node

    def holders(self) -> Counter[str]:
        """How many delivery states each node holds an unexpired lease on."""
        store = open_store(self.url)
        try:
            docs = store.list_docs("delivery")
        finally:
            store.close()
        now = time.time()
        return Counter(
            d.body["lease"]["node"] for d in docs if d.body.get("lease") and d.body["lease"]["expires"] > now
        )


@pytest.fixture
def deployment(postgres_cluster: Any, moto_endpoint: str) -> Iterator[Deployment]:
    url = postgres_cluster.new_database()
    found = Deployment(url, moto_endpoint, Path(tempfile.mkdtemp(prefix="opentrail-nodes-")))
    try:
        yield found
    finally:
        for node in found.nodes:
            node.stop()
        postgres_cluster.drop_database(url)
        shutil.rmtree(found.data_dir, ignore_errors=True)


@dataclass
class Writer:
    """Ingests batches into one node until stopped, remembering the eventIDs of acknowledged calls."""

    node: Server
    creds: Credentials
    stop: threading.Event
    acked: list[str] = field(default_factory=list)
    failures: int = 0
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        credentials = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.node.endpoint, credentials, REGION, timeout=5.0) as client:
            while not self.stop.is_set():
                records = [management_record(self.creds.account_id, REGION) for _ in range(BATCH)]
                try:
                    result = client.ingest_records(json.dumps({"Records": records}).encode())
                except RemoteError as err:
                    self.failures += 1
                    if err.status not in (0, 503):  # cut off or retryable, else a real bug
                        self.errors.append(f"{err.status} {err.code}: {err.message}")
                    time.sleep(0.1)
                    continue
                if result.get("accepted") != BATCH or result.get("failed"):
                    self.errors.append(f"partial answer: {result}")
                    continue
                self.acked.extend(r["eventID"] for r in records)
                time.sleep(0.03)


def delivered(s3: Any, bucket: str, account: str) -> dict[str, list[str]]:
    """eventIDs of every log file in ``bucket`` (moto), by key."""
    files: dict[str, list[str]] = {}
    prefix = f"AWSLogs/{account}/CloudTrail/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            files[item["Key"]] = [r["eventID"] for r in json.loads(gzip.decompress(body))["Records"]]
    return files


def validate(node: Server, deployment: Deployment, creds: Credentials, arn: str, start: str) -> str:
    env = node.aws_env(creds, REGION)
    env.update(AWS_ENDPOINT_URL_CLOUDTRAIL=node.endpoint, AWS_ENDPOINT_URL_S3=deployment.moto)
    args = ("--trail-arn", arn, "--start-time", start, "--region", REGION, "--verbose")
    result = subprocess.run(
        [AWS_CLI, "cloudtrail", "validate-logs", *args], env=env, capture_output=True, text=True, timeout=120
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "INVALID" not in report, report
    return result.stdout


def test_two_nodes_split_trails_and_survive_kill_9(deployment: Deployment) -> None:
    started = time.monotonic()
    a = deployment.start("node-a")
    b = deployment.start("node-b")
    creds = a.new_account("two-nodes")
    account = creds.account_id
    s3 = moto_client(deployment.moto)
    t0 = iso(time.time() - 60)
    trails: dict[str, tuple[str, str]] = {}  # name -> (bucket, arn)
    for i in range(4):
        bucket = f"nodes-{i}-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket)
        # Trails made on either node: both nodes answer from the one database.
        cloudtrail = (a if i % 2 else b).client("cloudtrail", creds)
        name = f"split-{i}"
        arn = cloudtrail.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=True)[
            "TrailARN"
        ]
        cloudtrail.start_logging(Name=name)
        trails[name] = (bucket, arn)

    # Two nodes split the four trails' delivery between them.
    wait_for(lambda: deployment.holders() == Counter({"node-a": 2, "node-b": 2}), "2 trails per node", 20)

    stop = threading.Event()
    writers = [Writer(a, creds, stop), Writer(b, creds, stop)]
    threads = [threading.Thread(target=w.run) for w in writers]
    for thread in threads:
        thread.start()
    try:
        time.sleep(4.0)
        a.kill()
        killed = time.monotonic()
        # The survivor takes the dead node's trails once their leases expire (one lease period).
        wait_for(lambda: deployment.holders() == Counter({"node-b": 4}), "node-b holding every trail", 15)
        took_over = time.monotonic() - killed
        time.sleep(2.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert took_over < LEASE_SECONDS + 3.0, f"takeover after {took_over:.1f} s"
    assert [w.errors for w in writers] == [[], []]
    acked = set(writers[0].acked) | set(writers[1].acked)
    assert len(acked) == len(writers[0].acked) + len(writers[1].acked)
    assert writers[0].acked, "node-a acknowledged nothing before it was killed"
    assert len(writers[1].acked) > len(writers[0].acked) // 2

    def all_delivered() -> bool:
        return all(
            acked <= {e for ids in delivered(s3, bucket, account).values() for e in ids}
            for bucket, _ in trails.values()
        )

    wait_for(all_delivered, f"{len(acked)} acknowledged events in every trail's log files", 45)
    cloudtrail = b.client("cloudtrail", creds)
    stopped = 0.0
    for name in trails:
        cloudtrail.stop_logging(Name=name)
        stopped = max(stopped, cloudtrail.get_trail_status(Name=name)["StopLoggingTime"].timestamp())

    def final_digests() -> bool:
        if time.time() < stopped + 1.5:
            return False
        for bucket, _ in trails.values():
            prefix = f"AWSLogs/{account}/CloudTrail-Digest/{REGION}/"
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
            if not keys:
                return False
            newest = max(keys, key=lambda k: k[-24:])
            digest = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=newest)["Body"].read()))
            if digest["digestEndTime"] < iso(stopped):
                return False
        return True

    wait_for(final_digests, "every trail's final digest", 30)
    time.sleep(1.5)  # room for any stray write of a node that should have stopped
    for name, (bucket, arn) in trails.items():
        files = delivered(s3, bucket, account)
        seen = Counter(e for ids in files.values() for e in ids)
        assert {e: n for e, n in seen.items() if n > 1} == {}, f"{name}: events in two log files"
        assert acked - set(seen) == set(), name
        report = validate(b, deployment, creds, arn, t0)
        assert f"{len(files)}/{len(files)} log files valid" in report, report
    print(
        f"acked={len(acked)} takeover={took_over:.1f}s failed_calls={[w.failures for w in writers]} "
        f"elapsed={time.monotonic() - started:.0f}s"
    )


def test_any_node_answers_any_call_alike(deployment: Deployment) -> None:
    a = deployment.start("node-a")
    b = deployment.start("node-b")
    creds = a.new_account("any-node")
    bucket = f"any-{uuid.uuid4().hex[:10]}"
    moto_client(deployment.moto).create_bucket(Bucket=bucket)
    a.client("cloudtrail", creds).create_trail(Name="made-on-a", S3BucketName=bucket)
    credentials = ReadOnlyCredentials(creds.access_key_id, creds.secret, None)
    records = [management_record(creds.account_id, REGION, user=f"u{i}") for i in range(10)]
    with Client(b.endpoint, credentials, REGION) as client:
        assert client.ingest_records(json.dumps({"Records": records[:5]}).encode())["failed"] == []
    with Client(a.endpoint, credentials, REGION) as client:
        assert client.ingest_records(json.dumps({"Records": records[5:]}).encode())["failed"] == []

    def answers(node: Server) -> tuple[Any, ...]:
        cloudtrail = node.client("cloudtrail", creds)
        described = cloudtrail.describe_trails()["trailList"]
        status = cloudtrail.get_trail_status(Name="made-on-a")
        status.pop("ResponseMetadata")
        events = cloudtrail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}], MaxResults=50
        )["Events"]
        return described, status, [e["EventId"] for e in events]

    on_a, on_b = answers(a), answers(b)
    assert on_a == on_b
    assert [t["Name"] for t in on_a[0]] == ["made-on-a"]
    assert {r["eventID"] for r in records} <= set(on_a[2])


def test_api_role_delivers_nothing_and_worker_role_delivers_it(deployment: Deployment) -> None:
    api = deployment.start("api-1", role="api")
    creds = api.new_account("roles")
    s3 = moto_client(deployment.moto)
    bucket = f"roles-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    cloudtrail = api.client("cloudtrail", creds)
    cloudtrail.create_trail(Name="by-role", S3BucketName=bucket)
    cloudtrail.start_logging(Name="by-role")
    records = [management_record(creds.account_id, REGION) for _ in range(5)]
    credentials = ReadOnlyCredentials(creds.access_key_id, creds.secret, None)
    with Client(api.endpoint, credentials, REGION) as client:
        assert client.ingest_records(json.dumps({"Records": records}).encode())["failed"] == []
    time.sleep(3.0)  # three delivery intervals
    assert delivered(s3, bucket, creds.account_id) == {}
    assert deployment.holders() == Counter()

    worker = deployment.start("worker-1", role="worker")
    wanted = {r["eventID"] for r in records}

    def arrived() -> bool:
        files = delivered(s3, bucket, creds.account_id)
        return wanted <= {e for ids in files.values() for e in ids}

    wait_for(arrived, "the worker delivering what the api node ingested", 20)
    assert httpx.get(f"{worker.endpoint}/health").json() == {"status": "ok"}
    # A worker serves no API: a clear, modelled error, not a 500 or a silent success.
    with pytest.raises(worker.client("cloudtrail", creds).exceptions.UnsupportedOperationException):
        worker.client("cloudtrail", creds).describe_trails()


def test_postgres_restart_under_ingest(moto_endpoint: str) -> None:
    """The test's own cluster (a restart would disturb the session's): ingest through a restart."""
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster(free_port())
    deployment = Deployment("", moto_endpoint, Path(tempfile.mkdtemp(prefix="opentrail-pg-restart-")))
    try:
        cluster.start()
        deployment.url = cluster.new_database()
        node = deployment.start("only")
        creds = node.new_account("pg-restart")
        stop = threading.Event()
        writers = [Writer(node, creds, stop) for _ in range(2)]
        threads = [threading.Thread(target=w.run) for w in writers]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2.0)
            before = sum(len(w.acked) for w in writers)
            cluster.restart()
            restarted = time.monotonic()
            # The node reconnects by itself: acknowledgements resume.
            wait_for(lambda: sum(len(w.acked) for w in writers) > before + 4 * BATCH, "ingest resuming", 30)
            recovered = time.monotonic() - restarted
            time.sleep(1.0)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
        # Calls during the outage failed with the retryable ServiceUnavailableException (503) only.
        assert [w.errors for w in writers] == [[], []]
        acked = [e for w in writers for e in w.acked]
        store = open_store(deployment.url)
        try:
            missing = [e for e in acked if store.get_event(creds.account_id, e) is None]
        finally:
            store.close()
        assert missing == [], f"{len(missing)} of {len(acked)} acknowledged events lost"
        # The API answers again, with no restart of the node.
        assert node.client("cloudtrail", creds).describe_trails()["trailList"] == []
        assert "Traceback" not in node.log()
        print(
            f"acked={len(acked)} failed_calls={[w.failures for w in writers]} recovered_in={recovered:.1f}s"
        )
    finally:
        for running in deployment.nodes:
            running.stop()
        cluster.stop()
        shutil.rmtree(deployment.data_dir, ignore_errors=True)
