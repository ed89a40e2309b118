"""Objects: GetObject and HeadObject (with Range), PutObject (its body read, checked and decoded from
aws-chunked by the edge, in memory or spooled), their headers."""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import S3Error
from opentrail.server.payload import Payload
from opentrail.server.s3.buckets import check_access
from opentrail.server.s3.responses import http_time
from opentrail.server.s3.target import S3Target
from opentrail.storage import SSE_S3, Encryption, ObjectInfo

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _meta_header(value: str) -> str:
    if value.isascii():
        return value
    # S3 returns non-ASCII metadata RFC 2047-encoded; HTTP header values are Latin-1 at best. One
    # encoded word however long: folded onto several lines (email.header's way past 76 characters), the
    # value is not a header any more and the object could never be read back.
    return f"=?UTF-8?B?{base64.b64encode(value.encode('utf-8')).decode('ascii')}?="


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "ETag": f'"{info.etag}"',
        "Last-Modified": http_time(info.last_modified),
        "Content-Type": info.content_type,
        "Accept-Ranges": "bytes",
    }
    # Names go out lower-case exactly as stored: awscli looks up Metadata['signature'] verbatim.
    for name, value in info.metadata.items():
        headers[f"x-amz-meta-{name.lower()}"] = _meta_header(value)
    # S3 encrypts every new object with SSE-S3 unless told to use KMS, and says so; the local bucket
    # store's at-rest protection of such objects is the data dir's (docs/api.md, "S3 subset").
    sse = info.sse or Encryption(SSE_S3)
    headers["x-amz-server-side-encryption"] = sse.mode
    if sse.key_id is not None:
        headers["x-amz-server-side-encryption-aws-kms-key-id"] = sse.key_id
    return headers


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range of a single-range ``bytes=a-b`` header; None means the whole object."""
    match = _RANGE.match(header.strip())
    if match is None or match[1] == match[2] == "":
        return None  # Multiple or malformed ranges: S3 ignores the header and sends everything.
    if match[1] == "":
        first, last = max(0, size - int(match[2])), size - 1
    else:
        first = int(match[1])
        last = min(int(match[2]), size - 1) if match[2] else size - 1
    if first >= size or first > last:
        raise S3Error(
            "InvalidRange", 416, f"range {header!r} is not satisfiable for an object of {size} bytes"
        )
    return first, last


def _read_object(call: Call, target: S3Target, head: bool) -> tuple[ObjectInfo, bytes]:
    check_access(call, target.bucket)
    storage = call.services.storage
    if head:
        return storage.head_object(target.bucket, target.key), b""
    return storage.get_object(target.bucket, target.key)


async def get_object(call: Call, request: Request, target: S3Target, head: bool) -> Response:
    if call.services.storage.inline_reads:
        # An index probe and a file read from the page cache cost less than the thread hop would.
        info, data = _read_object(call, target, head)
    else:
        info, data = await run_in_threadpool(_read_object, call, target, head)
    headers = _object_headers(info)
    span = _byte_range(request.headers.get("range", ""), info.size) if "range" in request.headers else None
    status = 200
    if span is not None:
        first, last = span
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        data = data[first : last + 1]
    headers["Content-Length"] = str(last - first + 1 if span else info.size)
    if head:
        # Starlette would otherwise set Content-Length from the empty body.
        response = Response(status_code=status, headers=headers)
        response.headers["content-length"] = headers["Content-Length"]
        return response
    return Response(data, status_code=status, headers=headers)


def request_metadata(request: Request) -> dict[str, str]:
    return {
        name[len("x-amz-meta-") :].lower(): value
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-meta-")
    }


def check_integrity(request: Request, data: bytes | Payload) -> None:
    """The integrity checks clients send: Content-MD5, and the CRC32 botocore adds by default as a header
    (as an aws-chunked trailer, the edge checked it while decoding). A spooled payload is read a piece
    at a time, never whole."""
    declared = request.headers.get("content-md5")
    crc = request.headers.get("x-amz-checksum-crc32")
    if declared is None and crc is None:
        return
    md5 = hashlib.md5(usedforsecurity=False)
    crc_value = 0
    for piece in _pieces(data):
        md5.update(piece)
        crc_value = zlib.crc32(piece, crc_value)
    if declared is not None and base64.b64encode(md5.digest()).decode() != declared:
        raise S3Error("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
    if crc is not None and base64.b64encode(crc_value.to_bytes(4, "big")).decode() != crc:
        raise S3Error("BadDigest", 400, "the x-amz-checksum-crc32 you specified did not match the body")


def _pieces(data: bytes | Payload) -> Iterator[bytes]:
    if isinstance(data, bytes):
        yield data
        return
    with data.open() as src:
        yield from iter(lambda: src.read(1 << 20), b"")


def _store(call: Call, request: Request, body: Payload, target: S3Target) -> ObjectInfo:
    """Check and store the object: from the spool file when the body was spooled (the storage backend
    may then write it without reading it into memory), from memory otherwise."""
    check_integrity(request, body)
    storage = call.services.storage
    metadata = request_metadata(request)
    content_type = request.headers.get("content-type") or "binary/octet-stream"
    if body.path is not None:
        return storage.put_object_file(target.bucket, target.key, body.path, metadata, content_type)
    return storage.put_object(target.bucket, target.key, body.read(), metadata, content_type)


async def put_object(call: Call, request: Request, body: Payload, target: S3Target) -> Response:
    """PutObject of a body the edge has read, checked and (if aws-chunked) decoded."""
    info = await run_in_threadpool(_store, call, request, body, target)
    return Response(headers={"ETag": f'"{info.etag}"'})
