"""Objects in the S3 subset (``server/s3/objects.py``): the integrity checks clients send, on a body in
memory or spooled; PutObject from memory or from a spool file; GetObject/HeadObject byte ranges as HTTP
defines them (RFC 9110 §14)."""

from __future__ import annotations

import asyncio
import base64
import email.header
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.responses import Response

from opentrail.errors import S3Error
from opentrail.server.payload import Payload
from opentrail.server.s3 import objects
from opentrail.server.s3.target import S3Target
from tests.support.asgi import starlette_request
from tests.support.calls import Env
from tests.support.services import open_env

ACCOUNT = "111122223333"
DATA = bytes(range(10))  # ten bytes: 0..9


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_integrity_headers() -> None:
    data = b"object"
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    good = {"content-md5": md5, "x-amz-checksum-crc32": crc32(data)}
    objects.check_integrity(starlette_request("PUT", "/b/k", headers=good), data)
    for name in good:
        with pytest.raises(S3Error) as caught:
            objects.check_integrity(starlette_request("PUT", "/b/k", headers={name: good[name]}), b"other")
        assert caught.value.s3_code == "BadDigest"


def test_integrity_of_a_spooled_body_is_read_a_piece_at_a_time(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MB: three pieces
    spool = tmp_path / "spool"
    spool.write_bytes(data)
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    good = {"content-md5": md5, "x-amz-checksum-crc32": crc32(data)}
    objects.check_integrity(starlette_request("PUT", "/b/k", headers=good), Payload(path=spool))
    spool.write_bytes(data[:-1] + b"x")
    with pytest.raises(S3Error, match="Content-MD5 you specified did not match what we received"):
        objects.check_integrity(starlette_request("PUT", "/b/k", headers=good), Payload(path=spool))


@pytest.mark.parametrize("spooled", [False, True])
def test_put_object_from_memory_or_a_spool_file(env: Env, tmp_path: Path, spooled: bool) -> None:
    data = b"spooled object" * 1000
    spool = tmp_path / "body-1"
    spool.write_bytes(data)
    body = Payload(path=spool) if spooled else Payload(data)
    headers = {"content-type": "text/plain", "x-amz-meta-signature": "abc"}
    request = starlette_request("PUT", "/objects/put", headers=headers)
    with body:
        response = asyncio.run(
            objects.put_object(env.call(ACCOUNT), request, body, S3Target("objects", "put", {}))
        )
    assert response.headers["etag"] == f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'
    info, stored = env.services.storage.get_object("objects", "put")
    assert (stored, info.content_type, info.metadata) == (data, "text/plain", {"signature": "abc"})
    assert not spool.exists() or not spooled  # the edge's close removes the spool file


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
