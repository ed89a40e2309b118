"""The path-style S3 subset on the server's port, through boto3, the AWS CLI v1 and plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from botocore.exceptions import ClientError

from opentrail.server import sigv4
from tests.support.server import Credentials, Server

SIGNATURE = "ab" * 256


def s3(server: Server, creds: Credentials, region: str = "us-east-1", signature: str | None = None) -> Any:
    """A path-style client; ``signature="s3v4"`` makes its presigned URLs SigV4 (the default is SigV2)."""
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret,
        config=botocore.config.Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1, "mode": "legacy"},
            signature_version=signature,
        ),
    )


def bucket_name() -> str:
    return f"b-{uuid.uuid4().hex[:20]}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def client(server: Server, account: Credentials) -> Any:
    return s3(server, account)


def client_creds(client: Any) -> Credentials:
    frozen = client._request_signer._credentials.get_frozen_credentials()
    return Credentials("", frozen.access_key, frozen.secret_key)


@pytest.fixture
def bucket(client: Any) -> str:
    name = bucket_name()
    client.create_bucket(Bucket=name)
    return name


def test_bucket_lifecycle(client: Any) -> None:
    name = bucket_name()
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    client.head_bucket(Bucket=name)
    assert client.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket=name)
    assert error_of(exc) == ("BucketAlreadyOwnedByYou", 409)
    with pytest.raises(ClientError) as exc:
        client.create_bucket(Bucket="Not_A_Bucket")
    assert error_of(exc) == ("InvalidBucketName", 400)


def test_objects_keep_lowercase_metadata(client: Any, bucket: str) -> None:
    metadata = {"signature": SIGNATURE, "signature-algorithm": "SHA256withRSA"}
    body = b'{"digest": true}'
    put = client.put_object(
        Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz", Body=body, Metadata=metadata, ContentType="x/y"
    )
    got = client.get_object(Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz")
    assert got["Body"].read() == body
    assert got["Metadata"] == metadata
    assert got["ContentType"] == "x/y"
    assert got["ETag"] == put["ETag"] == f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
    assert got["ContentLength"] == len(body)
    head = client.head_object(Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz")
    assert head["Metadata"] == metadata
    assert head["ContentLength"] == len(body)
    part = client.get_object(Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz", Range="bytes=2-7")
    assert part["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert part["Body"].read() == body[2:8]
    client.delete_object(Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz")
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="AWSLogs/a b/ü%2F.json.gz")
    assert error_of(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="missing")
    assert error_of(exc) == ("404", 404)


def test_missing_bucket_and_raw_error_shape(server: Server, client: Any, account: Credentials) -> None:
    with pytest.raises(ClientError) as exc:
        client.list_objects(Bucket=bucket_name())
    assert error_of(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket_name(), Key="k")
    assert error_of(exc) == ("NoSuchBucket", 404)
    v4 = s3(server, account, signature="s3v4")
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "no-such-bkt", "Key": "a/b"})
    response = httpx.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/xml"
    assert b"<Code>NoSuchBucket</Code>" in response.content
    assert b"<BucketName>no-such-bkt</BucketName>" in response.content
    assert b"<Key>a/b</Key>" in response.content


def test_other_accounts_bucket_is_denied(server: Server, client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    other = s3(server, server.new_account("other"))
    for call in (
        lambda: other.head_bucket(Bucket=bucket),
        lambda: other.list_objects_v2(Bucket=bucket),
        lambda: other.get_object(Bucket=bucket, Key="k"),
        lambda: other.put_object(Bucket=bucket, Key="k", Body=b"y"),
        lambda: other.delete_object(Bucket=bucket, Key="k"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[1] == 403
    with pytest.raises(ClientError) as exc:
        other.create_bucket(Bucket=bucket)
    assert error_of(exc) == ("BucketAlreadyExists", 409)
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_list_objects_v1_pages_with_markers(client: Any, bucket: str) -> None:
    keys = sorted([f"logs/2026/{i:02d}.json.gz" for i in range(7)] + ["logs/a b+c.json", "other/x"])
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())
    seen: list[str] = []
    marker = ""
    while True:
        page = client.list_objects(Bucket=bucket, Prefix="logs/", Marker=marker, MaxKeys=3)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        marker = page["NextMarker"]
    assert seen == [k for k in keys if k.startswith("logs/")]
    # botocore adds encoding-type=url and decodes the keys again.
    assert page["EncodingType"] == "url"
    first = client.list_objects(Bucket=bucket, MaxKeys=1)["Contents"][0]
    assert first["StorageClass"] == "STANDARD"
    assert first["Size"] == len(keys[0])
    assert first["ETag"] == f'"{hashlib.md5(keys[0].encode(), usedforsecurity=False).hexdigest()}"'
    folders = client.list_objects(Bucket=bucket, Delimiter="/", Prefix="logs/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["logs/2026/"]
    assert [o["Key"] for o in folders["Contents"]] == ["logs/a b+c.json"]


def test_list_objects_v2_pages(client: Any, bucket: str) -> None:
    keys = [f"k/{i:03d}" for i in range(25)] + ["z/1", "z/2"]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 10})
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == sorted(keys)
    page = client.list_objects_v2(Bucket=bucket, MaxKeys=10, StartAfter="k/020")
    assert page["KeyCount"] == 6
    assert not page["IsTruncated"]
    top = client.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=1)
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["k/"]
    rest = client.list_objects_v2(
        Bucket=bucket, Delimiter="/", ContinuationToken=top["NextContinuationToken"]
    )
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["z/"]


def test_bucket_named_like_a_route(server: Server, client: Any) -> None:
    client.create_bucket(Bucket="health")
    client.put_object(Bucket="health", Key="metrics", Body=b"mine")
    assert client.list_objects_v2(Bucket="health")["KeyCount"] == 1
    assert client.get_object(Bucket="health", Key="metrics")["Body"].read() == b"mine"
    assert httpx.get(f"{server.endpoint}/health").json() == {"status": "ok"}
    presigned = client.generate_presigned_url("list_objects", Params={"Bucket": "health"})
    assert b"<Key>metrics</Key>" in httpx.get(presigned).content


@pytest.mark.parametrize("signature", ["s3v4", None])
def test_presigned_urls(server: Server, account: Credentials, bucket: str, signature: str | None) -> None:
    client = s3(server, account, signature=signature)
    client.put_object(Bucket=bucket, Key="dir/file name.txt", Body=b"hello", Metadata={"signature": "s"})
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/file name.txt"})
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"hello"
    assert response.headers["x-amz-meta-signature"] == "s"
    tampered = httpx.get(url.replace("dir/file", "dir/File"))
    assert tampered.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    put = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    assert httpx.put(put, content=b"uploaded").status_code == 200
    assert client.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"


def test_presigned_urls_expire(server: Server, account: Credentials, client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="up", Body=b"x")
    urls = [
        s3(server, account, signature=sig).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=1
        )
        for sig in ("s3v4", None)
    ]
    # SigV2 expiry is whole epoch seconds: 2.1 s is past both URLs' last valid second.
    time.sleep(2.1)
    for url in urls:
        response = httpx.get(url)
        assert response.status_code == 403
        assert b"<Code>AccessDenied</Code>" in response.content
        assert b"Request has expired" in response.content


def test_authentication_failures_are_s3_errors(server: Server, bucket: str, account: Credentials) -> None:
    wrong = s3(server, Credentials(account.account_id, account.access_key_id, "not-the-secret"))
    with pytest.raises(ClientError) as exc:
        wrong.list_objects_v2(Bucket=bucket)
    assert error_of(exc) == ("SignatureDoesNotMatch", 403)
    unknown = s3(server, Credentials(account.account_id, "AKIAUNKNOWNUNKNOWN00", "x"))
    with pytest.raises(ClientError) as exc:
        unknown.list_objects_v2(Bucket=bucket)
    assert error_of(exc) == ("InvalidAccessKeyId", 403)


def test_bucket_created_by_the_cli_is_visible_to_its_owner(server: Server, account: Credentials) -> None:
    name = bucket_name()
    server.create_bucket(name, account)
    client = s3(server, account)
    client.head_bucket(Bucket=name)
    assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    client.put_object(Bucket=name, Key="k", Body=b"v")
    assert client.list_objects(Bucket=name)["Contents"][0]["Key"] == "k"


def test_aws_cli(server: Server, account: Credentials, tmp_path: Path) -> None:
    name = bucket_name()
    mb = server.aws("s3", "mb", f"s3://{name}", creds=account)
    assert mb.returncode == 0, mb.stderr
    up = tmp_path / "up"
    (up / "a" / "b").mkdir(parents=True)
    (up / "a" / "small.txt").write_bytes(b"small file\n")
    # Above the CLI's 8 MB threshold: a multipart upload, then a ranged, parallel download.
    (up / "a" / "b" / "large.bin").write_bytes(secrets.token_bytes(10 * 1024 * 1024 + 123))
    (up / "top.txt").write_bytes(b"top\n")
    result = server.aws("s3", "cp", "--recursive", str(up), f"s3://{name}/", creds=account)
    assert result.returncode == 0, result.stderr
    down = tmp_path / "down"
    result = server.aws("s3", "cp", "--recursive", f"s3://{name}/a/", str(down), creds=account)
    assert result.returncode == 0, result.stderr
    for relative in ("small.txt", "b/large.bin"):
        assert (down / relative).read_bytes() == (up / "a" / relative).read_bytes()
    ls = server.aws("s3", "ls", f"s3://{name}/", creds=account)
    assert ls.returncode == 0, ls.stderr
    assert "PRE a/" in ls.stdout
    assert "top.txt" in ls.stdout
    recursive = server.aws("s3", "ls", "--recursive", f"s3://{name}/a/", creds=account)
    assert recursive.returncode == 0, recursive.stderr
    assert [line.split()[-1] for line in recursive.stdout.splitlines()] == ["a/b/large.bin", "a/small.txt"]
    assert str(10 * 1024 * 1024 + 123) in recursive.stdout
    client = s3(server, account)
    client.put_object(Bucket=name, Key="digest", Body=b"d", Metadata={"signature-algorithm": "SHA256withRSA"})
    out = tmp_path / "digest"
    got = server.aws("s3api", "get-object", "--bucket", name, "--key", "digest", str(out), creds=account)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["Metadata"] == {"signature-algorithm": "SHA256withRSA"}
    assert out.read_bytes() == b"d"


def test_unsupported_operations_say_which(client: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_bucket_policy(Bucket=bucket)
    code, status = error_of(exc)
    assert (code, status) == ("NotImplemented", 501)
    assert "BucketPolicy" in exc.value.response["Error"]["Message"]


def test_aws_s3_presign_url_works_with_plain_http(server: Server, client: Any, bucket: str) -> None:
    client.put_object(Bucket=bucket, Key="shared/report.json", Body=b"{}")
    presign = server.aws("s3", "presign", f"s3://{bucket}/shared/report.json", creds=client_creds(client))
    assert presign.returncode == 0, presign.stderr
    response = httpx.get(presign.stdout.strip())
    assert response.status_code == 200, response.text
    assert response.content == b"{}"


def _signed_put(server: Server, creds: Credentials, path: str, body: bytes, headers: dict[str, str]) -> Any:
    """A SigV4-signed PUT with headers botocore only sends over TLS (aws-chunked bodies)."""
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    host = server.endpoint.removeprefix("http://")
    all_headers = {"host": host, "x-amz-date": amz_date, **headers}
    names = tuple(sorted(all_headers))
    credential = sigv4.Credential(creds.access_key_id, amz_date[:8], "us-east-1", "s3", names, "", amz_date)
    request = sigv4.Request("PUT", path, "", all_headers, body)
    signature = sigv4.signature(request, credential, creds.secret)
    scope = f"{creds.access_key_id}/{amz_date[:8]}/us-east-1/s3/aws4_request"
    auth = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    send = {k: v for k, v in all_headers.items() if k != "host"}
    return httpx.put(f"{server.endpoint}{path}", content=body, headers={**send, "authorization": auth})


def test_aws_chunked_bodies(server: Server, account: Credentials, client: Any, bucket: str) -> None:
    data = b"chunked payload " * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = b"".join(
        [
            f"{4000:x}\r\n".encode(),
            data[:4000],
            b"\r\n",
            f"{len(data) - 4000:x}\r\n".encode(),
            data[4000:],
            b"\r\n0\r\n",
            f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode(),
        ]
    )
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-meta-signature": "abc",
    }
    response = _signed_put(server, account, f"/{bucket}/chunked", body, headers)
    assert response.status_code == 200, response.text
    got = client.get_object(Bucket=bucket, Key="chunked")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"signature": "abc"}
    corrupt = body.replace(b"chunked payload", b"CHUNKED payload", 1)
    response = _signed_put(server, account, f"/{bucket}/corrupt", corrupt, headers)
    assert response.status_code == 400
    assert b"<Code>BadDigest</Code>" in response.content
    # Claimed signed, sent without chunk signatures (signed uploads: tests/e2e/protocol/test_aws_chunked.py).
    signed = {**headers, "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    response = _signed_put(server, account, f"/{bucket}/signed", body, signed)
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
