"""A trail's KmsKeyId end to end: log files stored SSE-KMS (encrypted at rest in the local bucket store),
read back as plaintext through the S3 API, digests SSE-S3, and both validators accept the chain.

One server of this module's own, with a 1-second delivery interval and 4-second digests.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.delivery import Tenant, record, single_member
from tests.support.server import Server, iso, make_server, wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server(env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "4"})


@pytest.fixture(scope="module")
def chain(server: Server) -> dict[str, Any]:
    """A KMS trail with validation: events delivered over a few digest periods, then a final digest."""
    tenant = Tenant(server)
    key_arn = f"arn:aws:kms:us-east-1:{tenant.account}:key/{uuid.uuid4()}"
    t0 = time.time() - 60
    arn = tenant.trail("sealed", KmsKeyId=key_arn, EnableLogFileValidation=True)
    sent = [record(tenant.account) for _ in range(5)]
    tenant.ingest(sent[:3])
    time.sleep(1.5)
    tenant.ingest(sent[3:])
    tenant.wait_delivered({r["eventID"] for r in sent})
    wait_for(lambda: len(tenant.digest_keys()) >= 1, "a digest")
    tenant.cloudtrail.stop_logging(Name="sealed")

    def final_digest() -> bool:
        newest = json.loads(gzip.decompress(tenant.read(tenant.digest_keys()[-1])))
        stop = tenant.cloudtrail.get_trail_status(Name="sealed")["StopLoggingTime"].timestamp()
        return time.time() > stop + 1.5 and bool(newest["digestEndTime"] >= iso(stop))

    wait_for(final_digest, "the final digest")
    return {"tenant": tenant, "arn": arn, "key": key_arn, "start": iso(t0), "sent": sent}


def test_trail_reports_its_key(chain: dict[str, Any]) -> None:
    trail = chain["tenant"].cloudtrail.get_trail(Name="sealed")["Trail"]
    assert trail["KmsKeyId"] == chain["key"]


def test_log_files_are_encrypted_at_rest(chain: dict[str, Any], server: Server) -> None:
    tenant: Tenant = chain["tenant"]
    keys = tenant.log_keys()
    assert keys
    for key in keys:
        stored = (server.data_dir / "buckets" / tenant.bucket / key).read_bytes()
        assert not stored.startswith(b"\x1f\x8b"), key  # not a gzip stream: sealed
        with pytest.raises(OSError, match="gzip"):
            gzip.decompress(stored)
    # Digests are SSE-S3: recorded, but their bytes on disk are the gzip itself.
    for key in tenant.digest_keys():
        assert (server.data_dir / "buckets" / tenant.bucket / key).read_bytes().startswith(b"\x1f\x8b")


def test_s3_api_reports_sse_and_returns_plaintext(chain: dict[str, Any]) -> None:
    tenant: Tenant = chain["tenant"]
    for key in tenant.log_keys():
        head = tenant.s3.head_object(Bucket=tenant.bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == chain["key"]
        got = tenant.s3.get_object(Bucket=tenant.bucket, Key=key)
        assert (got["ServerSideEncryption"], got["SSEKMSKeyId"]) == ("aws:kms", chain["key"])
        body = got["Body"].read()
        assert len(body) == head["ContentLength"]
        assert json.loads(single_member(body))["Records"]
    assert {r["eventID"] for r in tenant.records()} >= {r["eventID"] for r in chain["sent"]}
    for key in tenant.digest_keys():
        head = tenant.s3.head_object(Bucket=tenant.bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        assert "SSEKMSKeyId" not in head


def test_aws_cli_reads_sealed_log_files(chain: dict[str, Any], server: Server, tmp_path: Path) -> None:
    tenant: Tenant = chain["tenant"]
    key = tenant.log_keys()[0]
    head = server.aws("s3api", "head-object", "--bucket", tenant.bucket, "--key", key, creds=tenant.creds)
    assert head.returncode == 0, head.stderr
    assert json.loads(head.stdout)["SSEKMSKeyId"] == chain["key"]
    copied = server.aws(
        "s3", "cp", f"s3://{tenant.bucket}/{key}", str(tmp_path / "log.json.gz"), creds=tenant.creds
    )
    assert copied.returncode == 0, copied.stderr
    assert json.loads(single_member((tmp_path / "log.json.gz").read_bytes()))["Records"]


def test_aws_cli_validate_logs(chain: dict[str, Any], server: Server) -> None:
    tenant: Tenant = chain["tenant"]
    result = server.aws(
        "cloudtrail",
        "validate-logs",
        "--trail-arn",
        chain["arn"],
        "--start-time",
        chain["start"],
        "--region",
        "us-east-1",
        creds=tenant.creds,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    logs = len(tenant.log_keys())
    assert f"{logs}/{logs} log files valid" in result.stdout


@pytest.mark.parametrize("direct", [False, True], ids=["s3-api", "storage-url"])
def test_opentrail_validate_logs(chain: dict[str, Any], server: Server, direct: bool) -> None:
    tenant: Tenant = chain["tenant"]
    args = ["validate-logs", "--trail-arn", chain["arn"], "--start-time", chain["start"]]
    if direct:  # reads the bucket store itself, opening sealed files with the data dir's master key
        args += ["--storage-url", f"file://{(server.data_dir / 'buckets').resolve()}"]
    result = server.cli_as(tenant.creds, *args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    logs = len(tenant.log_keys())
    assert f"{logs}/{logs} log files valid" in result.stdout
