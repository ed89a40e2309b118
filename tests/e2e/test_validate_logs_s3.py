"""validate-logs end to end on the S3 storage backend (issue 3): the server delivers to an S3-compatible
service (moto's server on loopback) through ``OPENTRAIL_STORAGE_URL=s3://`` and ``AWS_ENDPOINT_URL_S3``.

``aws cloudtrail validate-logs`` then talks CloudTrail to OpenTrail (``AWS_ENDPOINT_URL_CLOUDTRAIL``) and
S3 to moto (``AWS_ENDPOINT_URL_S3``), as it would to a real deployment backed by S3; ``opentrail
validate-logs`` reads the same bucket through moto's S3 API and through the ``s3://`` storage backend.
Both accept the untouched chain, and both report each kind of tampering made directly in moto (a changed
log file, a deleted digest, a digest's signature metadata replaced) as INVALID with exit status 1.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.server import AWS_CLI, Credentials, Server, iso, make_server, management_record, wait_for

REGION = "us-east-1"
TRAIL = "on-s3"
MOTO_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Any:
    """A client of moto itself: what an operator (or an attacker) with access to the bucket uses."""
    return boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=MOTO_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_KEYS["AWS_SECRET_ACCESS_KEY"],
        config=botocore.config.Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="module")
def server(moto_endpoint: str) -> Iterator[Server]:
    env = {
        "OPENTRAIL_STORAGE_URL": "s3://",
        "OPENTRAIL_DELIVERY_INTERVAL": "1",
        "OPENTRAIL_DIGEST_INTERVAL": "3",
        "AWS_ENDPOINT_URL_S3": moto_endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **MOTO_KEYS,
    }
    yield from make_server(env=env)


class Chain:
    """A trail that delivered to moto across several digest periods, then stopped (final digest)."""

    def __init__(self, server: Server, s3: Any, moto_endpoint: str) -> None:
        self.server = server
        self.s3 = s3
        self.moto_endpoint = moto_endpoint
        self.creds: Credentials = server.new_account("s3-validation")
        self.account = self.creds.account_id
        self.bucket = f"validated-{uuid.uuid4().hex[:12]}"
        self.start = iso(time.time() - 60)
        self.arn = ""

    def keys(self, folder: str) -> list[str]:
        prefix = f"AWSLogs/{self.account}/{folder}/{REGION}/"
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def log_keys(self) -> list[str]:
        return self.keys("CloudTrail")

    def digest_keys(self) -> list[str]:
        return sorted(self.keys("CloudTrail-Digest"), key=lambda k: k[-24:])

    def get(self, key: str) -> tuple[bytes, dict[str, str]]:
        response = self.s3.get_object(Bucket=self.bucket, Key=key)
        return response["Body"].read(), dict(response["Metadata"])

    def put(self, key: str, data: bytes, metadata: dict[str, str]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=metadata)

    def ingest(self, records: list[dict[str, Any]]) -> None:
        credentials = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.server.endpoint, credentials, REGION) as client:
            result = client.ingest_records(json.dumps({"Records": records}).encode())
        assert result["failed"] == [], result

    def validate_args(self) -> tuple[str, ...]:
        return ("--trail-arn", self.arn, "--start-time", self.start, "--region", REGION, "--verbose")

    def aws(self, s3_endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
        """The unmodified AWS CLI: CloudTrail calls to OpenTrail, S3 calls to moto (or ``s3_endpoint``)."""
        env = self.server.aws_env(self.creds, REGION)
        env.update(
            AWS_ENDPOINT_URL_CLOUDTRAIL=self.server.endpoint,
            AWS_ENDPOINT_URL_S3=s3_endpoint or self.moto_endpoint,
        )
        return subprocess.run(
            [AWS_CLI, "cloudtrail", "validate-logs", *self.validate_args()],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ours(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """``opentrail validate-logs``; the server's environment carries ``AWS_ENDPOINT_URL_S3`` = moto."""
        return self.server.cli_as(self.creds, "validate-logs", *self.validate_args(), *extra, check=False)


@pytest.fixture(scope="module")
def chain(server: Server, s3: Any, moto_endpoint: str) -> Chain:
    chain = Chain(server, s3, moto_endpoint)
    s3.create_bucket(Bucket=chain.bucket)
    cloudtrail = server.client("cloudtrail", chain.creds)
    created = cloudtrail.create_trail(Name=TRAIL, S3BucketName=chain.bucket, EnableLogFileValidation=True)
    chain.arn = created["TrailARN"]
    cloudtrail.start_logging(Name=TRAIL)
    sent: set[str] = set()
    for _ in range(3):
        batch = [management_record(chain.account) for _ in range(4)]
        chain.ingest(batch)
        sent.update(r["eventID"] for r in batch)
        time.sleep(1.5)

    def delivered() -> set[str]:
        ids: set[str] = set()
        for key in chain.log_keys():
            ids.update(r["eventID"] for r in json.loads(gzip.decompress(chain.get(key)[0]))["Records"])
        return ids if ids >= sent else set()

    wait_for(delivered, "every event in a log file in moto")
    wait_for(lambda: len(chain.digest_keys()) >= 2, "two digests in moto")
    cloudtrail.stop_logging(Name=TRAIL)
    stopped = cloudtrail.get_trail_status(Name=TRAIL)["StopLoggingTime"].timestamp()

    def final_digest() -> bool:
        newest = json.loads(gzip.decompress(chain.get(chain.digest_keys()[-1])[0]))
        return time.time() > stopped + 1.5 and bool(newest["digestEndTime"] >= iso(stopped))

    wait_for(final_digest, "the final digest in moto")
    status = cloudtrail.get_trail_status(Name=TRAIL)
    assert "LatestDeliveryError" not in status
    assert "LatestDigestDeliveryError" not in status
    return chain


def test_create_trail_checks_the_bucket_in_s3(server: Server, s3: Any) -> None:
    creds = server.new_account("s3-bucket-check")
    cloudtrail = server.client("cloudtrail", creds)
    missing = f"absent-{uuid.uuid4().hex[:12]}"
    with pytest.raises(cloudtrail.exceptions.S3BucketDoesNotExistException):
        cloudtrail.create_trail(Name="nowhere", S3BucketName=missing)
    s3.create_bucket(Bucket=missing)
    assert cloudtrail.create_trail(Name="nowhere", S3BucketName=missing)["S3BucketName"] == missing
    # Nothing of the server's own bucket store is used: the objects go to S3 (moto), not the data dir.
    assert not (server.data_dir / "buckets" / missing).exists()
    # A bucket made through OpenTrail's S3 API lands in S3, recorded as the caller's own.
    owned = f"owned-{uuid.uuid4().hex[:12]}"
    server.client("s3", creds).create_bucket(Bucket=owned)
    s3.head_bucket(Bucket=owned)
    assert cloudtrail.create_trail(Name="owned", S3BucketName=owned)["S3BucketName"] == owned
    other = server.client("cloudtrail", server.new_account("s3-bucket-other"))
    with pytest.raises(other.exceptions.InsufficientS3BucketPolicyException):
        other.create_trail(Name="theirs", S3BucketName=owned)


def test_both_validators_accept_the_chain_in_s3(chain: Chain) -> None:
    digests, logs = chain.digest_keys(), chain.log_keys()
    assert len(digests) >= 3
    assert logs
    for digest in digests:
        _, metadata = chain.get(digest)
        assert set(metadata) == {"signature", "signature-algorithm"}
    runs = {
        # OpenTrail's own S3 API in front of the S3 backend serves the same objects.
        "aws via OpenTrail's S3 API": chain.aws(s3_endpoint=chain.server.endpoint),
        "aws": chain.aws(),
        "opentrail": chain.ours(),
        "opentrail s3://": chain.ours("--storage-url", "s3://"),
    }
    for name, result in runs.items():
        report = result.stdout + result.stderr
        assert result.returncode == 0, f"{name}: {report}"
        assert "INVALID" not in report, f"{name}: {report}"
        for key in digests:
            assert f"Digest file\ts3://{chain.bucket}/{key}\tvalid" in result.stdout, f"{name}: {key}"
        for key in logs:
            assert f"Log file\ts3://{chain.bucket}/{key}\tvalid" in result.stdout, f"{name}: {key}"
        assert f"{len(digests)}/{len(digests)} digest files valid" in result.stdout, name
        assert f"{len(logs)}/{len(logs)} log files valid" in result.stdout, name


def _changed_log(chain: Chain) -> tuple[str, str]:
    key = chain.log_keys()[0]
    data, _ = chain.get(key)
    document = json.loads(gzip.decompress(data))
    document["Records"][0]["eventName"] = "Innocent"
    chain.put(key, gzip.compress(json.dumps(document).encode(), mtime=0), {})
    return key, "hash value doesn't match"


def _deleted_digest(chain: Chain) -> tuple[str, str]:
    key = chain.digest_keys()[1]  # not the newest: a newer digest links to it
    chain.s3.delete_object(Bucket=chain.bucket, Key=key)
    return key, "not found"


def _replaced_signature(chain: Chain) -> tuple[str, str]:
    keys = chain.digest_keys()
    key, other = keys[-1], keys[0]
    data, _ = chain.get(key)
    chain.put(key, data, chain.get(other)[1])
    return key, "signature verification failed"


@pytest.mark.parametrize("tamper", [_changed_log, _deleted_digest, _replaced_signature])
def test_both_validators_catch_tampering_in_s3(
    chain: Chain, tamper: Callable[[Chain], tuple[str, str]]
) -> None:
    keys = chain.log_keys() + chain.digest_keys()
    originals = {key: chain.get(key) for key in keys}
    key, reason = tamper(chain)
    try:
        for name, result in (("aws", chain.aws()), ("opentrail", chain.ours())):
            report = result.stdout + result.stderr
            assert result.returncode == 1, f"{name}: {report}"
            assert f"s3://{chain.bucket}/{key}\tINVALID: {reason}" in result.stderr, f"{name}: {report}"
    finally:
        for original, (data, metadata) in originals.items():
            chain.put(original, data, metadata)
    assert chain.aws().returncode == 0
