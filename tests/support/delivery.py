"""A tenant of the delivery tests: an account with a bucket, trails, and readers of its log files."""

from __future__ import annotations

import json
import uuid
import zlib
from typing import Any

from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.server import Credentials, Server, management_record, wait_for

DIGEST_FOLDER = "CloudTrail-Digest"
BATCH = 20


def record(
    account: str, region: str = "us-east-1", read_only: bool = False, source: str = "ec2.amazonaws.com"
) -> dict[str, Any]:
    """A management event carrying a field CloudTrail does not have (yet): it must pass through."""
    return {**management_record(account, region, read_only, source), "aFieldFromTheFuture": {"kept": [1, 2]}}


def batch(account: str, region: str = "us-east-1") -> tuple[bytes, list[str]]:
    """A body of ``BATCH`` unique management write events in ``region``, and their eventIDs."""
    records: list[dict[str, Any]] = []
    for _ in range(BATCH):
        records.append(management_record(account, region, user="steady"))
    return json.dumps({"Records": records}).encode(), [r["eventID"] for r in records]


class Tenant:
    """An account with a bucket and clients; trails are made from its home region us-east-1."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.creds: Credentials = server.new_account("delivery")
        self.account = self.creds.account_id
        self.bucket = f"delivery-{uuid.uuid4().hex[:12]}"
        self.s3 = server.client("s3", self.creds)
        self.s3.create_bucket(Bucket=self.bucket)
        self.cloudtrail = server.client("cloudtrail", self.creds)

    def trail(self, name: str, **options: Any) -> str:
        arn: str = self.cloudtrail.create_trail(Name=name, S3BucketName=self.bucket, **options)["TrailARN"]
        self.cloudtrail.start_logging(Name=name)
        return arn

    def ingest(self, records: list[dict[str, Any]]) -> None:
        body = json.dumps({"Records": records}).encode()
        creds = ReadOnlyCredentials(self.creds.access_key_id, self.creds.secret, None)
        with Client(self.server.endpoint, creds) as client:
            result = client.ingest_records(body)
        assert result["failed"] == [], result

    def keys(self, prefix: str = "") -> list[str]:
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    def log_keys(self, region: str = "us-east-1") -> list[str]:
        return self.keys(f"AWSLogs/{self.account}/CloudTrail/{region}/")

    def digest_keys(self, region: str = "us-east-1") -> list[str]:
        return self.keys(f"AWSLogs/{self.account}/{DIGEST_FOLDER}/{region}/")

    def read(self, key: str) -> bytes:
        data: bytes = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def records(self, region: str = "us-east-1") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for key in self.log_keys(region):
            found.extend(json.loads(single_member(self.read(key)))["Records"])
        return found

    def delivered_ids(self, region: str = "us-east-1") -> set[str]:
        return {r["eventID"] for r in self.records(region)}

    def wait_delivered(self, ids: set[str], region: str = "us-east-1") -> set[str]:
        def arrived() -> set[str]:
            got = self.delivered_ids(region)
            return got if got >= ids else set()

        return wait_for(arrived, f"events {sorted(ids)} in {region}")


def single_member(data: bytes) -> bytes:
    """Inflate one gzip member and insist nothing follows it (what validate-logs requires, §5.2)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    raw = inflater.decompress(data) + inflater.flush()
    assert inflater.eof
    assert inflater.unused_data == b""
    return raw
