"""Multipart uploads (``aws s3 cp`` splits files above 8 MB): initiate, upload parts, complete, abort.

Parts wait in memory until CompleteMultipartUpload, because the Storage seam writes whole objects; the
uploads in progress belong to one ``MultipartUploads`` (the app's S3 subset), bounded in total bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import S3Error
from opentrail.server.payload import Payload
from opentrail.server.s3.objects import check_integrity, request_metadata
from opentrail.server.s3.responses import not_implemented, parse_xml, xml_element, xml_response
from opentrail.server.s3.target import S3Target

# This bounds what abandoned uploads can hold.
MAX_PENDING_UPLOAD_BYTES = 512 * 1024 * 1024


@dataclass
class Upload:
    account: str
    bucket: str
    key: str
    metadata: dict[str, str]
    content_type: str
    parts: dict[int, bytes] = field(default_factory=dict)


class MultipartUploads:
    """The uploads in progress, by upload id (touched only on the event loop, so no lock)."""

    def __init__(self) -> None:
        self._uploads: dict[str, Upload] = {}

    async def handle(self, call: Call, request: Request, body: Payload, target: S3Target) -> Response:
        method, query = request.method, target.query
        if method == "POST" and "uploads" in query:
            upload_id = call.services.new_id().replace("-", "")
            self._uploads[upload_id] = Upload(
                call.account,
                target.bucket,
                target.key,
                request_metadata(request),
                request.headers.get("content-type") or "binary/octet-stream",
            )
            root = xml_element(
                "InitiateMultipartUploadResult", Bucket=target.bucket, Key=target.key, UploadId=upload_id
            )
            return xml_response(root)
        upload = self._uploads.get(query["uploadId"])
        if upload is None or (upload.account, upload.bucket, upload.key) != (
            call.account,
            target.bucket,
            target.key,
        ):
            raise S3Error("NoSuchUpload", 404, "The specified multipart upload does not exist.")
        if method == "PUT" and "x-amz-copy-source" not in request.headers:
            return self._upload_part(request, body, upload, query.get("partNumber", ""))
        if method == "DELETE":
            self._uploads.pop(query["uploadId"], None)
            return Response(status_code=204)
        if method == "POST":
            return await self._complete(call, body.read(), upload, query["uploadId"])
        raise not_implemented(f"{method} on a multipart upload (ListParts, UploadPartCopy)")

    def _upload_part(self, request: Request, body: Payload, upload: Upload, number: str) -> Response:
        if not number.isdigit() or not 1 <= int(number) <= 10000:
            raise S3Error("InvalidArgument", 400, f"partNumber must be 1 to 10000, got {number!r}")
        data = body.read()
        check_integrity(request, data)
        pending = sum(len(part) for up in self._uploads.values() for part in up.parts.values())
        if pending + len(data) > MAX_PENDING_UPLOAD_BYTES:
            raise S3Error(
                "ServiceUnavailable", 503, f"multipart uploads in progress hold {pending} bytes; retry later"
            )
        upload.parts[int(number)] = data
        return Response(headers={"ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'})

    async def _complete(self, call: Call, body: bytes, upload: Upload, upload_id: str) -> Response:
        root = parse_xml(body, "CompleteMultipartUpload")
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
        self._uploads.pop(upload_id, None)
        result = xml_element(
            "CompleteMultipartUploadResult",
            Location=f"/{upload.bucket}/{upload.key}",
            Bucket=upload.bucket,
            Key=upload.key,
            ETag=f'"{info.etag}"',
        )
        return xml_response(result)
