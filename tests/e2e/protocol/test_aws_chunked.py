"""S3 uploads through the real server the way the AWS SDKs for Java and Go send them
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, with and without a signed trailer), every chunk signed by the
tests' own implementation of AWS's documented algorithm: stored when every signature holds, refused
with S3's SignatureDoesNotMatch when one does not. Large bodies (boto3's and these) are spooled to
``<data dir>/tmp/bodies`` while they arrive and the spool file is gone once the call is answered."""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from typing import Any

import boto3
import botocore.config
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from tests.support.aws_chunked import signed_chunks
from tests.support.server import Credentials, Server


@pytest.fixture(scope="module")
def bucket(server: Server, creds: Credentials) -> str:
    name = f"chunked-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name, creds)
    return name


def s3(server: Server, creds: Credentials) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret,
        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def streaming_put(
    server: Server,
    creds: Credentials,
    path: str,
    data: bytes,
    trailer: bool = False,
    damage: Any = None,
) -> httpx.Response:
    """A PUT whose seed signature botocore computes over the headers, its chunks signed after it."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": mode,
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Type": "text/plain",
    }
    if trailer:
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    request = AWSRequest("PUT", server.endpoint + path, headers=headers)
    SigV4Auth(BotoCredentials(creds.access_key_id, creds.secret), "s3", "us-east-1").add_auth(request)
    sent = dict(request.headers.items())
    seed = sent["Authorization"].rsplit("Signature=", 1)[1]
    trailers = {"x-amz-checksum-crc32": crc32(data)} if trailer else None
    body = signed_chunks(data, seed, creds.secret, sent["X-Amz-Date"], trailers=trailers)
    if damage is not None:
        body = damage(body)
    return httpx.put(server.endpoint + path, content=body, headers=sent, timeout=60)


def spool_files(server: Server) -> list[str]:
    folder = server.data_dir / "tmp" / "bodies"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024 + 17], ids=["small", "spooled"])
@pytest.mark.parametrize("trailer", [False, True], ids=["chunks", "chunks-and-trailer"])
def test_a_signed_streaming_upload_is_stored(
    server: Server, creds: Credentials, bucket: str, size: int, trailer: bool
) -> None:
    data = bytes(range(256)) * (size // 256) + b"t" * (size % 256)
    key = f"signed-{size}-{trailer}"
    response = streaming_put(server, creds, f"/{bucket}/{key}", data, trailer)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    got = s3(server, creds).get_object(Bucket=bucket, Key=key)
    assert (got["Body"].read(), got["ContentType"]) == (data, "text/plain")
    assert spool_files(server) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda body: body[:100_000] + b"X" + body[100_001:],  # a byte of the first chunk's data
        lambda body: body[:-300] + b"X" + body[-299:],  # a byte of the last chunk's data
        lambda body: body.replace(b";chunk-signature=", b";chunk-signature=0", 1)[:-1],  # a signature
    ],
    ids=["first-chunk", "last-chunk", "signature"],
)
def test_a_changed_chunk_is_refused_and_nothing_stored(
    server: Server, creds: Credentials, bucket: str, damage: Any
) -> None:
    data = b"d" * (2 * 1024 * 1024)
    response = streaming_put(server, creds, f"/{bucket}/damaged", data, damage=damage)
    assert response.status_code == 403, response.text
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
    client = s3(server, creds)
    with pytest.raises(client.exceptions.NoSuchKey):
        client.get_object(Bucket=bucket, Key="damaged")
    assert spool_files(server) == []


def test_a_large_boto3_upload_is_spooled_and_stored(server: Server, creds: Credentials, bucket: str) -> None:
    data = bytes(range(256)) * 24_000  # 6 MB: spooled, under boto3's multipart threshold
    client = s3(server, creds)
    put = client.put_object(Bucket=bucket, Key="boto3-large", Body=data, Metadata={"signature": "s"})
    assert put["ETag"] == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="boto3-large")
    assert (got["Body"].read(), got["Metadata"]) == (data, {"signature": "s"})
    assert spool_files(server) == []
