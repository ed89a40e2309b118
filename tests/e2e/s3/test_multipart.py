"""Multipart uploads against the real server, through boto3 and the AWS CLI: parts wait on disk in the
data dir and an upload outlives a restart; one account's abandoned parts never fail another account's
upload (issue 13, defect 4: they shared one cap and everyone got 503); abandoned uploads expire; and the
calls cleanup scripts make (``list-multipart-uploads``, ``list-parts``, ``abort-multipart-upload``) answer
as S3's do."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Credentials, Server, wait_for

MIB = 1024 * 1024
Client = Callable[[Server, Credentials], Any]


def bucket_name() -> str:
    return f"mp-{uuid.uuid4().hex[:20]}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def multipart_etag(*parts: bytes) -> str:
    joined = b"".join(hashlib.md5(part, usedforsecurity=False).digest() for part in parts)
    return f'"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def test_parts_wait_on_disk_and_an_upload_outlives_a_restart(fresh_server: Server, s3_client: Client) -> None:
    server = fresh_server
    creds = server.new_account()
    s3 = s3_client(server, creds)
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    first, last = secrets.token_bytes(5 * MIB), b"the last part"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="big", Metadata={"signature": "ab"})["UploadId"]
    s3.upload_part(Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=1, Body=first)
    folder = server.data_dir / "uploads" / creds.account_id / bucket / upload_id
    assert [p.read_bytes() for p in folder.glob("*.data")] == [first]

    server.stop()
    server.start()
    s3 = s3_client(server, creds)
    s3.upload_part(Bucket=bucket, Key="big", UploadId=upload_id, PartNumber=2, Body=last)
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MIB), (2, len(last))]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]},
    )
    assert done["ETag"] == multipart_etag(first, last)
    got = s3.get_object(Bucket=bucket, Key="big")
    assert (got["Body"].read(), got["Metadata"]) == (first + last, {"signature": "ab"})
    assert not folder.exists()


def test_one_accounts_abandoned_parts_never_fail_another_accounts_upload(
    tight_server: Server, s3_client: Client, tmp_path: Path
) -> None:
    hoarder_creds, other = tight_server.new_account(), tight_server.new_account()
    hoarder = s3_client(tight_server, hoarder_creds)
    bucket = bucket_name()
    hoarder.create_bucket(Bucket=bucket)
    abandoned = hoarder.create_multipart_upload(Bucket=bucket, Key="hoard")["UploadId"]
    for number in (1, 2):
        hoarder.upload_part(
            Bucket=bucket, Key="hoard", UploadId=abandoned, PartNumber=number, Body=b"h" * 5 * MIB
        )
    with pytest.raises(ClientError) as exc:
        hoarder.upload_part(Bucket=bucket, Key="hoard", UploadId=abandoned, PartNumber=3, Body=b"h" * 5 * MIB)
    assert error_of(exc) == ("EntityTooLarge", 400)
    message = exc.value.response["Error"]["Message"]
    assert message.startswith("Your proposed upload exceeds the maximum allowed size: ")

    # The other account's `aws s3 cp` of a 10 MiB file: a multipart upload of 8 MiB parts.
    mine = bucket_name()
    assert tight_server.aws("s3", "mb", f"s3://{mine}", creds=other).returncode == 0
    (tmp_path / "large.bin").write_bytes(secrets.token_bytes(10 * MIB))
    copied = tight_server.aws("s3", "cp", str(tmp_path / "large.bin"), f"s3://{mine}/large.bin", creds=other)
    assert copied.returncode == 0, copied.stderr
    head = s3_client(tight_server, other).head_object(Bucket=mine, Key="large.bin")
    assert head["ContentLength"] == 10 * MIB


def test_abandoned_uploads_expire(hasty_server: Server, s3_client: Client) -> None:
    creds = hasty_server.new_account()
    s3 = s3_client(hasty_server, creds)
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    started = s3.create_multipart_upload(Bucket=bucket, Key="forgotten")
    upload_id = started["UploadId"]
    assert started["AbortRuleId"] == "opentrail-multipart-expiry"
    s3.upload_part(Bucket=bucket, Key="forgotten", UploadId=upload_id, PartNumber=1, Body=b"abandoned")
    wait_for(
        lambda: "Uploads" not in s3.list_multipart_uploads(Bucket=bucket), "the upload to expire", timeout=15
    )
    assert not (hasty_server.data_dir / "uploads" / creds.account_id / bucket / upload_id).exists()
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="forgotten", UploadId=upload_id, PartNumber=2, Body=b"late")
    assert error_of(exc) == ("NoSuchUpload", 404)


def test_the_aws_cli_lists_and_aborts_uploads(
    server: Server, account: Credentials, s3_client: Client
) -> None:
    bucket = bucket_name()
    s3 = s3_client(server, account)
    s3.create_bucket(Bucket=bucket)
    ids = [
        s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in ("logs/a", "logs/b", "c")
    ]
    s3.upload_part(Bucket=bucket, Key="logs/a", UploadId=ids[0], PartNumber=1, Body=b"part")

    def aws(*args: str) -> Any:
        result = server.aws("s3api", *args, "--bucket", bucket, creds=account)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else None

    # The CLI pages with NextKeyMarker/NextUploadIdMarker until every upload is seen.
    listed = aws("list-multipart-uploads", "--page-size", "1")
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == [
        ("c", ids[2]),
        ("logs/a", ids[0]),
        ("logs/b", ids[1]),
    ]
    folded = aws("list-multipart-uploads", "--delimiter", "/")
    assert ([u["Key"] for u in folded["Uploads"]], folded["CommonPrefixes"]) == (["c"], [{"Prefix": "logs/"}])
    parts = aws("list-parts", "--key", "logs/a", "--upload-id", ids[0])["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 4)]
    for key, upload_id in zip(("logs/a", "logs/b", "c"), ids, strict=True):
        aws("abort-multipart-upload", "--key", key, "--upload-id", upload_id)
    assert "Uploads" not in aws("list-multipart-uploads")
    again = server.aws(
        "s3api",
        "abort-multipart-upload",
        "--bucket",
        bucket,
        "--key",
        "c",
        "--upload-id",
        ids[2],
        creds=account,
    )
    assert again.returncode != 0
    assert "NoSuchUpload" in again.stderr
