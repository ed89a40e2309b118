"""A path-style S3 API subset over the bucket store, so `aws s3` and `validate-logs` need no other server.

    GET /                          ListBuckets (the caller's buckets and unowned ones)
    PUT|HEAD /<bucket>             CreateBucket, HeadBucket
    GET /<bucket>?location         GetBucketLocation (empty: us-east-1)
    GET /<bucket>[?list-type=2]    ListObjects v1 / v2
    GET|HEAD|PUT|DELETE /<b>/<k>   GetObject (with Range), HeadObject, PutObject, DeleteObject
    POST /<b>/<k>?uploads|uploadId multipart uploads (`aws s3 cp` splits files above 8 MB)

The edge has authenticated the call; this module checks bucket ownership (a bucket recorded for another
account is AccessDenied, one with no recorded owner is served to any caller) and speaks S3's XML.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import logging
import re
import uuid
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from email.header import Header
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import (
    AccessDeniedException,
    ApiError,
    ConflictError,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    PayloadHashMismatch,
    RequestEntityTooLarge,
    S3Error,
    ServiceError,
    SignatureExpired,
    UnrecognizedClient,
)
from opentrail.server.s3 import listing as s3list
from opentrail.storage import (
    BucketExists,
    InvalidBucketName,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    ObjectInfo,
    StorageError,
    check_bucket_name,
)

log = logging.getLogger("opentrail")
NS = s3list.NS
MAX_XML_BODY = 1024 * 1024
# Parts wait in memory until CompleteMultipartUpload because the Storage seam writes whole objects;
# this bounds what abandoned uploads can hold.
MAX_PENDING_UPLOAD_BYTES = 512 * 1024 * 1024
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/s3/aws4_request")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Sub-resources of S3 outside this subset, by the operation a request for them would be.
_UNSUPPORTED = {
    "acl": "Acl",
    "policy": "BucketPolicy",
    "versioning": "BucketVersioning",
    "versions": "ListObjectVersions",
    "tagging": "Tagging",
    "cors": "BucketCors",
    "lifecycle": "BucketLifecycle",
    "website": "BucketWebsite",
    "delete": "DeleteObjects",
    "encryption": "BucketEncryption",
    "notification": "BucketNotificationConfiguration",
    "logging": "BucketLogging",
    "replication": "BucketReplication",
    "object-lock": "ObjectLockConfiguration",
    "retention": "ObjectRetention",
    "legal-hold": "ObjectLegalHold",
    "attributes": "ObjectAttributes",
    "restore": "RestoreObject",
    "select": "SelectObjectContent",
    "torrent": "ObjectTorrent",
}


def not_implemented(operation: str) -> S3Error:
    return S3Error("NotImplemented", 501, f"{operation} is not part of OpenTrail's S3 subset")


# Authentication and edge errors (raised before this module runs) in S3's words.
_AUTH_CODES: list[tuple[type[ApiError], str, int]] = [
    (SignatureExpired, "RequestTimeTooSkewed", 403),
    (PayloadHashMismatch, "XAmzContentSHA256Mismatch", 400),
    (InvalidSignature, "SignatureDoesNotMatch", 403),
    (UnrecognizedClient, "InvalidAccessKeyId", 403),
    (MissingAuthenticationToken, "AccessDenied", 403),
    (IncompleteSignature, "AuthorizationHeaderMalformed", 400),
    (AccessDeniedException, "AccessDenied", 403),
    (RequestEntityTooLarge, "EntityTooLarge", 400),
    (ServiceError, "ServiceUnavailable", 503),
]


def is_s3(request: Request) -> bool:
    """Whether the request is signed for service s3 (header or presigned URL), read before verifying so
    that even authentication failures come back in S3's shape."""
    if _SCOPE.search(request.headers.get("authorization", "")):
        return True
    query = request.query_params
    if "AWSAccessKeyId" in query and "Signature" in query:
        return True  # SigV2 query signatures exist only for S3.
    return query.get("X-Amz-Credential", "").endswith("/s3/aws4_request")


def error_response(err: ApiError, request_id: str, head: bool = False, **context: str) -> Response:
    if isinstance(err, S3Error):
        code, status, fields = err.s3_code, err.s3_status, {**context, **err.fields}
    else:
        # Request errors keep their name and status; server failures become S3's InternalError.
        code, status, fields = err.code, err.status, context
        if status >= 500:
            code = "InternalError"
        for cls, s3_code, s3_status in _AUTH_CODES:
            if isinstance(err, cls):
                code, status = s3_code, s3_status
                break
    headers = {"x-amz-request-id": request_id}
    if head:
        # HEAD responses carry no body; botocore reads the status alone.
        return Response(status_code=status, headers=headers)
    root = ET.Element("Error")
    ET.SubElement(root, "Code").text = code
    ET.SubElement(root, "Message").text = err.message
    for name, value in fields.items():
        ET.SubElement(root, name).text = value
    ET.SubElement(root, "RequestId").text = request_id
    return _xml(root, status, headers)


def _xml(root: ET.Element, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return Response(body, status_code=status, media_type="application/xml", headers=headers)


def _el(tag: str, **children: str) -> ET.Element:
    root = ET.Element(tag, xmlns=NS)
    for name, value in children.items():
        ET.SubElement(root, name).text = value
    return root


def http_time(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


@dataclass
class _Upload:
    account: str
    bucket: str
    key: str
    metadata: dict[str, str]
    content_type: str
    parts: dict[int, bytes] = field(default_factory=dict)


# Multipart uploads in progress, by upload id (touched only on the event loop, so no lock).
_UPLOADS: dict[str, _Upload] = {}


@dataclass(frozen=True, slots=True)
class _Target:
    bucket: str
    key: str
    query: dict[str, str]


def _target(request: Request) -> _Target:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.split(b"?", 1)[0]
    try:
        # Clients percent-encode keys once; decode exactly once so '%2F' and '%25' survive.
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI", 400, "the request path is not UTF-8 once percent-decoded") from None
    bucket, _, key = decoded.lstrip("/").partition("/")
    query = dict(parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    return _Target(bucket, key, query)


async def handle(call: Call, request: Request, body: bytes) -> Response:
    target = _target(request)
    context = {"BucketName": target.bucket} if target.bucket else {}
    if target.key:
        context["Key"] = target.key
    try:
        return await _route(call, request, body, target)
    except ApiError as err:
        return error_response(err, call.request_id, request.method == "HEAD", **context)
    except StorageError as err:
        return error_response(_storage_error(err), call.request_id, request.method == "HEAD", **context)


def _storage_error(err: StorageError) -> S3Error:
    if isinstance(err, NoSuchKey):
        return S3Error("NoSuchKey", 404, "The specified key does not exist.")
    if isinstance(err, NoSuchBucket):
        return S3Error("NoSuchBucket", 404, "The specified bucket does not exist")
    if isinstance(err, InvalidBucketName):
        return S3Error("InvalidBucketName", 400, str(err))
    if isinstance(err, InvalidKey):
        # Includes what a filesystem cannot hold and S3 could (a key both object and folder).
        return S3Error("InvalidArgument", 400, str(err))
    if isinstance(err, BucketExists):
        return S3Error("BucketAlreadyExists", 409, str(err))
    log.warning("bucket store failure: %s", err)
    return S3Error("ServiceUnavailable", 503, f"the bucket store failed, retry: {err}")


async def _route(call: Call, request: Request, body: bytes, target: _Target) -> Response:
    method, query = request.method, target.query
    for name, operation in _UNSUPPORTED.items():
        if name in query:
            raise not_implemented(f"{method} ?{name} ({operation})")
    if not target.bucket:
        if method == "GET":
            return await _list_buckets(call)
        raise S3Error("MethodNotAllowed", 405, f"{method} / is not allowed; only GET / (ListBuckets)")
    if not target.key:
        if method == "PUT":
            return await _create_bucket(call, target.bucket, body)
        await _authorize(call, target.bucket)
        if method == "HEAD":
            return Response(headers={"x-amz-bucket-region": "us-east-1"})
        if method == "GET" and "location" in query:
            return _xml(_el("LocationConstraint"))
        if method == "GET" and "uploads" in query:
            raise not_implemented("ListMultipartUploads")
        if method == "GET":
            listing = await run_in_threadpool(
                s3list.list_objects, call.services.storage, target.bucket, query
            )
            return _xml(listing)
        if method == "DELETE":
            raise not_implemented("DeleteBucket")
        raise S3Error("MethodNotAllowed", 405, f"{method} is not allowed on a bucket")
    if method in ("GET", "HEAD") and "uploadId" not in query and "uploads" not in query:
        # The read the validators make once per file: authorized on the same worker-thread hop.
        return await _get_object(call, request, target, head=method == "HEAD")
    await _authorize(call, target.bucket)
    if "uploadId" in query or "uploads" in query:
        return await _multipart(call, request, body, target)
    if method == "PUT":
        if "x-amz-copy-source" in request.headers:
            raise not_implemented("CopyObject")
        return await _put_object(call, request, body, target)
    if method == "DELETE":
        await run_in_threadpool(call.services.storage.delete_object, target.bucket, target.key)
        return Response(status_code=204)
    raise S3Error("MethodNotAllowed", 405, f"{method} is not allowed on an object")


def _check_access(call: Call, bucket: str) -> None:
    """A bucket recorded for another account is theirs alone; a missing one is NoSuchBucket. Blocking:
    run it on a worker thread."""
    check_bucket_name(bucket)
    owner = call.store.bucket_owner(bucket)
    if owner is not None and owner != call.account:
        raise S3Error("AccessDenied", 403, "Access Denied")
    if not call.services.storage.bucket_exists(bucket):
        raise S3Error("NoSuchBucket", 404, "The specified bucket does not exist")


async def _authorize(call: Call, bucket: str) -> None:
    await run_in_threadpool(_check_access, call, bucket)


async def _list_buckets(call: Call) -> Response:
    names = await run_in_threadpool(call.services.storage.list_buckets)
    root = _el("ListAllMyBucketsResult")
    owner = ET.SubElement(root, "Owner")
    ET.SubElement(owner, "ID").text = call.account
    ET.SubElement(owner, "DisplayName").text = call.account
    buckets = ET.SubElement(root, "Buckets")
    for name in names:
        if await run_in_threadpool(call.store.bucket_owner, name) not in (None, call.account):
            continue
        entry = ET.SubElement(buckets, "Bucket")
        ET.SubElement(entry, "Name").text = name
        # The store keeps no creation time; the epoch is a stable, honest "unknown".
        ET.SubElement(entry, "CreationDate").text = s3list.iso_time(0)
    return _xml(root)


def _parse_xml(body: bytes, what: str) -> ET.Element:
    if len(body) > MAX_XML_BODY:
        raise S3Error("MalformedXML", 400, f"the {what} body exceeds {MAX_XML_BODY} bytes")
    try:
        # ElementTree resolves no external entities and expat (>= 2.4.1) caps entity expansion; the
        # body is also bounded above.
        return ET.fromstring(body)  # noqa: S314
    except ET.ParseError as exc:
        raise S3Error("MalformedXML", 400, f"the {what} body is not well-formed XML: {exc}") from None


async def _create_bucket(call: Call, bucket: str, body: bytes) -> Response:
    check_bucket_name(bucket)
    if body.strip():
        # Any LocationConstraint is accepted: the bucket store has one location.
        _parse_xml(body, "CreateBucketConfiguration")
    storage = call.services.storage
    owner = await run_in_threadpool(call.store.bucket_owner, bucket)
    if owner is not None and owner != call.account:
        raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} is owned by another account")
    if await run_in_threadpool(storage.bucket_exists, bucket):
        raise S3Error("BucketAlreadyOwnedByYou", 409, f"you already own bucket {bucket}")
    try:
        await run_in_threadpool(storage.create_bucket, bucket)
    except BucketExists:
        raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} already exists") from None
    if owner is None:
        try:
            await run_in_threadpool(call.store.add_bucket, bucket, call.account)
        except ConflictError:
            raise S3Error("BucketAlreadyExists", 409, f"bucket {bucket} already exists") from None
    return Response(headers={"Location": f"/{bucket}"})


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
    if info.sse is not None:
        headers["x-amz-server-side-encryption"] = info.sse.mode
        if info.sse.key_id is not None:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = info.sse.key_id
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


def _read_object(call: Call, target: _Target, head: bool) -> tuple[ObjectInfo, bytes]:
    _check_access(call, target.bucket)
    storage = call.services.storage
    if head:
        return storage.head_object(target.bucket, target.key), b""
    return storage.get_object(target.bucket, target.key)


async def _get_object(call: Call, request: Request, target: _Target, head: bool) -> Response:
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


def _request_metadata(request: Request) -> dict[str, str]:
    return {
        name[len("x-amz-meta-") :].lower(): value
        for name, value in request.headers.items()
        if name.lower().startswith("x-amz-meta-")
    }


def _payload(request: Request, body: bytes) -> bytes:
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


def _content_md5_check(request: Request, data: bytes) -> None:
    """The integrity checks clients send (Content-MD5; CRC32 that botocore adds by default, as a header or
    an aws-chunked trailer)."""
    declared = request.headers.get("content-md5")
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    if declared is not None and base64.b64encode(md5).decode() != declared:
        raise S3Error("BadDigest", 400, "the Content-MD5 you specified did not match what was received")
    crc = request.headers.get("x-amz-checksum-crc32")
    if crc is not None and base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode() != crc:
        raise S3Error("BadDigest", 400, "the x-amz-checksum-crc32 you specified did not match the body")


async def _put_object(call: Call, request: Request, body: bytes, target: _Target) -> Response:
    data = _payload(request, body)
    _content_md5_check(request, data)
    info = await run_in_threadpool(
        call.services.storage.put_object,
        target.bucket,
        target.key,
        data,
        _request_metadata(request),
        request.headers.get("content-type") or "binary/octet-stream",
    )
    return Response(headers={"ETag": f'"{info.etag}"'})


async def _multipart(call: Call, request: Request, body: bytes, target: _Target) -> Response:
    method, query = request.method, target.query
    if method == "POST" and "uploads" in query:
        upload_id = uuid.uuid4().hex
        _UPLOADS[upload_id] = _Upload(
            call.account,
            target.bucket,
            target.key,
            _request_metadata(request),
            request.headers.get("content-type") or "binary/octet-stream",
        )
        root = _el("InitiateMultipartUploadResult", Bucket=target.bucket, Key=target.key, UploadId=upload_id)
        return _xml(root)
    upload = _UPLOADS.get(query["uploadId"])
    if upload is None or (upload.account, upload.bucket, upload.key) != (
        call.account,
        target.bucket,
        target.key,
    ):
        raise S3Error("NoSuchUpload", 404, "The specified multipart upload does not exist.")
    if method == "PUT" and "x-amz-copy-source" not in request.headers:
        return _upload_part(request, body, upload, query.get("partNumber", ""))
    if method == "DELETE":
        _UPLOADS.pop(query["uploadId"], None)
        return Response(status_code=204)
    if method == "POST":
        return await _complete(call, body, upload, query["uploadId"])
    raise not_implemented(f"{method} on a multipart upload (ListParts, UploadPartCopy)")


def _upload_part(request: Request, body: bytes, upload: _Upload, number: str) -> Response:
    if not number.isdigit() or not 1 <= int(number) <= 10000:
        raise S3Error("InvalidArgument", 400, f"partNumber must be 1 to 10000, got {number!r}")
    data = _payload(request, body)
    _content_md5_check(request, data)
    pending = sum(len(part) for up in _UPLOADS.values() for part in up.parts.values())
    if pending + len(data) > MAX_PENDING_UPLOAD_BYTES:
        raise S3Error(
            "ServiceUnavailable", 503, f"multipart uploads in progress hold {pending} bytes; retry later"
        )
    upload.parts[int(number)] = data
    return Response(headers={"ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'})


async def _complete(call: Call, body: bytes, upload: _Upload, upload_id: str) -> Response:
    root = _parse_xml(body, "CompleteMultipartUpload")
    numbers: list[int] = []
    for part in root.iter():
        if part.tag.rsplit("}", 1)[-1] == "PartNumber":
            text = (part.text or "").strip()
            if not text.isdigit() or int(text) not in upload.parts:
                raise S3Error("InvalidPart", 400, f"part {text!r} was not uploaded")
            numbers.append(int(text))
    if not numbers or numbers != sorted(set(numbers)):
        raise S3Error("InvalidPartOrder", 400, "parts must be listed once each, in ascending order")
    data = b"".join(upload.parts[n] for n in numbers)
    info = await run_in_threadpool(
        call.services.storage.put_object,
        upload.bucket,
        upload.key,
        data,
        upload.metadata,
        upload.content_type,
    )
    _UPLOADS.pop(upload_id, None)
    result = _el(
        "CompleteMultipartUploadResult",
        Location=f"/{upload.bucket}/{upload.key}",
        Bucket=upload.bucket,
        Key=upload.key,
        ETag=f'"{info.etag}"',
    )
    return _xml(result)
