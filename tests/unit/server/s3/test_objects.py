"""Objects in the S3 subset (``server/s3/objects.py``): aws-chunked bodies as botocore encodes them
(chunks, then trailers such as the CRC32 botocore adds by default), the integrity checks clients send,
and GetObject/HeadObject byte ranges as HTTP defines them (RFC 9110 §14)."""

from __future__ import annotations

import asyncio
import base64
import email.header
import hashlib
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from starlette.responses import Response

from opentrail.errors import S3Error
from opentrail.server.s3 import objects
from opentrail.server.s3.target import S3Target
from tests.support.asgi import starlette_request
from tests.support.calls import Env
from tests.support.services import open_env

ACCOUNT = "111122223333"
DATA = bytes(range(10))  # ten bytes: 0..9


def chunked(data: bytes, chunk_size: int = 8) -> bytes:
    """What botocore sends for a PutObject with a CRC32 trailer."""
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    return wrapper.read()


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("data", [b"", b"hello world" * 3, bytes(range(256)) * 40])
def test_botocores_aws_chunked_bodies_decode(data: bytes) -> None:
    decoded, trailers = objects.decode_aws_chunked(chunked(data))
    assert decoded == data
    assert trailers == {"x-amz-checksum-crc32": crc32(data)}


def test_chunk_signatures_and_trailer_names_are_read() -> None:
    body = b"5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\nX-Amz-Checksum-CRC32: AAAA \r\n\r\n"
    assert objects.decode_aws_chunked(body) == (b"hello", {"x-amz-checksum-crc32": "AAAA"})


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"5\r\nhello", "IncompleteBody"),  # ends inside a chunk
        (b"5\r\nhel\r\n0\r\n\r\n", "IncompleteBody"),
        (b"5", "IncompleteBody"),  # ends inside a chunk header
        (b"zz\r\nhello\r\n0\r\n\r\n", "InvalidArgument"),
    ],
)
def test_broken_aws_chunked_bodies(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        objects.decode_aws_chunked(body)
    assert (caught.value.s3_code, caught.value.s3_status) == (code, 400)


def test_the_payload_of_an_unsigned_trailer_upload() -> None:
    data = b"log file bytes" * 100
    body = chunked(data)
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(data)),
    }
    assert objects.payload(starlette_request("PUT", "/b/k", headers=headers), body) == data
    lying = {**headers, "x-amz-decoded-content-length": str(len(data) + 1)}
    with pytest.raises(S3Error, match="x-amz-decoded-content-length says"):
        objects.payload(starlette_request("PUT", "/b/k", headers=lying), body)
    damaged = body.replace(b"log", b"LOG", 1)
    with pytest.raises(S3Error, match="trailer did not match"):
        objects.payload(starlette_request("PUT", "/b/k", headers=headers), damaged)


def test_a_plain_body_is_the_payload_and_signed_chunks_are_not_implemented() -> None:
    assert objects.payload(starlette_request("PUT", "/b/k"), b"plain") == b"plain"
    signed = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}
    with pytest.raises(S3Error) as caught:
        objects.payload(starlette_request("PUT", "/b/k", headers=signed), b"")
    assert (caught.value.s3_code, caught.value.s3_status) == ("NotImplemented", 501)


def test_integrity_headers() -> None:
    data = b"object"
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    good = {"content-md5": md5, "x-amz-checksum-crc32": crc32(data)}
    objects.check_integrity(starlette_request("PUT", "/b/k", headers=good), data)
    for name in good:
        with pytest.raises(S3Error) as caught:
            objects.check_integrity(starlette_request("PUT", "/b/k", headers={name: good[name]}), b"other")
        assert caught.value.s3_code == "BadDigest"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        env.services.storage.create_bucket("objects")
        metadata = {"Signature": "abc", "Owner": "café"}
        env.services.storage.put_object("objects", "ten", DATA, metadata, "application/x-gzip")
        yield env


def get(env: Env, range_header: str | None = None, head: bool = False) -> Response:
    headers = {} if range_header is None else {"range": range_header}
    request = starlette_request("HEAD" if head else "GET", "/objects/ten", headers=headers)
    return asyncio.run(objects.get_object(env.call(ACCOUNT), request, S3Target("objects", "ten", {}), head))


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-4", 0, 4),
        ("bytes=5-", 5, 9),
        ("bytes=-3", 7, 9),  # the last three bytes
        ("bytes=-100", 0, 9),  # a suffix longer than the object is all of it
        ("bytes=8-100", 8, 9),  # a last byte past the end is the end
        ("bytes=9-9", 9, 9),
    ],
)
def test_a_satisfiable_range_is_partial_content(env: Env, header: str, first: int, last: int) -> None:
    response = get(env, header)
    assert response.status_code == 206
    assert response.body == DATA[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/10"
    assert response.headers["content-length"] == str(last - first + 1)


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=5-4", "bytes=-0"])
def test_an_unsatisfiable_range(env: Env, header: str) -> None:
    with pytest.raises(S3Error) as caught:
        get(env, header)
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidRange", 416)


@pytest.mark.parametrize("header", ["bytes=0-1,3-4", "items=0-1", "bytes=-", "bytes=a-b"])
def test_a_range_s3_ignores_sends_everything(env: Env, header: str) -> None:
    response = get(env, header)
    assert (response.status_code, response.body) == (200, DATA)


def test_object_headers_and_head(env: Env) -> None:
    whole = get(env)
    assert whole.status_code == 200
    assert whole.headers["content-length"] == "10"
    assert whole.headers["etag"] == f'"{hashlib.md5(DATA, usedforsecurity=False).hexdigest()}"'
    assert whole.headers["content-type"] == "application/x-gzip"
    assert whole.headers["x-amz-meta-signature"] == "abc"  # lower case, as awscli looks it up
    # Header values are Latin-1 at best: S3 sends non-ASCII metadata RFC 2047-encoded.
    assert email.header.decode_header(whole.headers["x-amz-meta-owner"]) == [("café".encode(), "utf-8")]
    assert whole.headers["accept-ranges"] == "bytes"
    head = get(env, "bytes=2-3", head=True)
    assert (head.status_code, head.body, head.headers["content-length"]) == (206, b"", "2")
