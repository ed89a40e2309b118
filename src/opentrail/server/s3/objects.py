"""Objects: GetObject and HeadObject (with Range), PutObject (plain or aws-chunked), their headers."""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from email.header import Header

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import S3Error
from opentrail.server.payload import Payload
from opentrail.server.s3.buckets import check_access
from opentrail.server.s3.responses import http_time, not_implemented
from opentrail.server.s3.target import S3Target
from opentrail.storage import SSE_S3, Encryption, ObjectInfo

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _meta_header(value: str) -> str:
    if value.isascii():
        return value
    # S3 returns non-ASCII metadata RFC 2047-encoded; HTTP header values are Latin-1 at best.
    return Header(value, "utf-8").encode()


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


def payload(request: Request, body: bytes) -> bytes:
    """The object bytes: the body, or its aws-chunked decoding."""
    mode = request.headers.get("x-amz-content-sha256", "")
    if not mode.startswith("STREAMING-"):
        return body
    if mode != "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        # Signed chunks would need each chunk signature verified; until then, refuse rather than
        # store a body nobody authenticated.
        raise not_implemented(f"PutObject with x-amz-content-sha256 {mode} (signed aws-chunked)")
    data, trailers = decode_aws_chunked(body)
    crc = trailers.get("x-amz-checksum-crc32")
    if crc is not None and base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode() != crc:
        raise S3Error("BadDigest", 400, "the x-amz-checksum-crc32 trailer did not match the body")
    declared = request.headers.get("x-amz-decoded-content-length")
    if declared is not None and declared != str(len(data)):
        raise S3Error(
            "IncompleteBody", 400, f"decoded {len(data)} bytes, x-amz-decoded-content-length says {declared}"
        )
    return data


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """``<hex size>[;chunk-signature=...]\r\n<data>\r\n`` ... then a 0-size chunk and trailer lines."""
    out: list[bytes] = []
    pos = 0
    while True:
        end = body.find(b"\r\n", pos)
        if end < 0:
            raise S3Error("IncompleteBody", 400, f"aws-chunked body ends inside a chunk header at byte {pos}")
        size_text = body[pos:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise S3Error("InvalidArgument", 400, f"aws-chunked size {size_text[:20]!r} is not hex") from None
        if size == 0:
            trailers = body[end + 2 :].decode("latin-1").split("\r\n")
            pairs = (line.partition(":") for line in trailers if ":" in line)
            return b"".join(out), {k.strip().lower(): v.strip() for k, _, v in pairs}
        start = end + 2
        if body[start + size : start + size + 2] != b"\r\n":
            raise S3Error("IncompleteBody", 400, f"aws-chunked chunk at byte {pos} is shorter than {size}")
        out.append(body[start : start + size])
        pos = start + size + 2


def check_integrity(request: Request, data: bytes) -> None:
    """The integrity checks clients send (Content-MD5; CRC32 that botocore adds by default, as a header or
    an aws-chunked trailer)."""
    declared = request.headers.get("content-md5")
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    if declared is not None and base64.b64encode(md5).decode() != declared:
        raise S3Error("BadDigest", 400, "the Content-MD5 you specified did not match what was received")
    crc = request.headers.get("x-amz-checksum-crc32")
    if crc is not None and base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode() != crc:
        raise S3Error("BadDigest", 400, "the x-amz-checksum-crc32 you specified did not match the body")


async def put_object(call: Call, request: Request, body: Payload, target: S3Target) -> Response:
    data = payload(request, body.read())
    check_integrity(request, data)
    info = await run_in_threadpool(
        call.services.storage.put_object,
        target.bucket,
        target.key,
        data,
        request_metadata(request),
        request.headers.get("content-type") or "binary/octet-stream",
    )
    return Response(headers={"ETag": f'"{info.etag}"'})
