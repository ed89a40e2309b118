"""Multipart uploads over HTTP: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts and ListMultipartUploads, each run on the spool and answered in S3's
XML; and the loop that aborts abandoned uploads.

An upload belongs to the account, bucket and key that started it (anything else is NoSuchUpload, 404).
Parts are numbered 1 to 10,000, may arrive in any order and be sent again; each answers the MD5 of its
bytes as its ETag. The expiry works like an S3 lifecycle rule ``AbortIncompleteMultipartUpload``, and
is announced the way S3 announces one (``x-amz-abort-date``, ``x-amz-abort-rule-id``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call, Services
from opentrail.errors import S3Error, StorageError
from opentrail.server.payload import Payload
from opentrail.server.s3.multipart import listing
from opentrail.server.s3.multipart.completion import listed_parts
from opentrail.server.s3.multipart.records import Upload, UploadRecord, new_upload_id
from opentrail.server.s3.multipart.spool import UploadSpool
from opentrail.server.s3.objects import check_integrity, request_metadata
from opentrail.server.s3.responses import (
    http_time,
    method_not_allowed,
    not_implemented,
    xml_element,
    xml_response,
)
from opentrail.server.s3.target import S3Target
from opentrail.storage import SSE_S3
from opentrail.storage.base import check_key

log = logging.getLogger("opentrail")
EXPIRY_RULE = "opentrail-multipart-expiry"
# The longest the expiry loop sleeps: an upload outlives its expiry by at most this much.
MAX_SWEEP_SECONDS = 3600.0
_ENCRYPTED = {"x-amz-server-side-encryption": SSE_S3}


class MultipartUploads:
    """The multipart uploads of one app, in a spool under the data dir of the services it serves."""

    def __init__(self) -> None:
        self._spool: UploadSpool | None = None
        self._opening = threading.Lock()

    def spool(self, services: Services) -> UploadSpool:
        """The spool, opened (and recovered after a crash) on first use. Blocking."""
        with self._opening:
            if self._spool is None:
                settings = services.settings
                self._spool = UploadSpool(settings.data_dir / "uploads", settings.multipart_quota_bytes)
            return self._spool

    def close(self) -> None:
        """Close the spool (releasing its lock for another process), when the app stops."""
        with self._opening:
            if self._spool is not None:
                self._spool.close()
                self._spool = None

    async def handle(self, call: Call, request: Request, body: Payload, target: S3Target) -> Response:
        """A request on an object with ``?uploads`` or ``?uploadId``: the bucket is authorized."""
        spool = await run_in_threadpool(self.spool, call.services)
        method, query = request.method, target.query
        if method == "POST" and "uploads" in query:
            return await self._start(spool, call, request, target)
        upload_id = query.get("uploadId", "")
        upload = await run_in_threadpool(spool.find, call.account, target.bucket, target.key, upload_id)
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                raise not_implemented("UploadPartCopy")
            return await self._upload_part(spool, call, request, body, upload, query.get("partNumber", ""))
        if method == "DELETE":
            await run_in_threadpool(spool.abort, upload)
            return Response(status_code=204)
        if method == "POST":
            return await self._complete(spool, call, body, upload)
        if method == "GET":
            parts = await run_in_threadpool(spool.parts, upload)
            return xml_response(listing.parts_result(upload, parts, query), headers=_expiry(call, upload))
        raise method_not_allowed(method, "MULTIPARTUPLOAD")

    async def list_uploads(self, call: Call, target: S3Target) -> Response:
        """ListMultipartUploads: the caller's uploads into the (authorized) bucket."""
        spool = await run_in_threadpool(self.spool, call.services)
        uploads = await run_in_threadpool(spool.uploads, call.account, target.bucket)
        return xml_response(listing.uploads_result(target.bucket, call.account, uploads, target.query))

    async def forget_bucket(self, call: Call, bucket: str) -> None:
        """Abort the caller's uploads into a bucket it deleted (the uploads of other accounts into a bucket
        that had no owner expire)."""
        spool = await run_in_threadpool(self.spool, call.services)
        await run_in_threadpool(spool.abort_bucket, call.account, bucket)

    async def expire_forever(self, services: Services) -> None:
        """Abort uploads older than OPENTRAIL_MULTIPART_EXPIRY_SECONDS: at once (the spool opens, a
        crash's leftovers go), then every quarter of that time, an hour at most. The app runs it for as
        long as it serves; when it is cancelled, the spool closes."""
        max_age = services.settings.multipart_expiry_seconds
        period = min(MAX_SWEEP_SECONDS, max(0.5, max_age / 4))
        try:
            while True:
                try:
                    spool = await run_in_threadpool(self.spool, services)
                    expired = await run_in_threadpool(spool.expire, services.clock.now(), max_age)
                    if expired:
                        log.info("aborted %d multipart uploads older than %s seconds", expired, max_age)
                except StorageError as exc:
                    log.warning("multipart upload expiry failed, retrying later: %s", exc)
                await asyncio.sleep(period)
        finally:
            self.close()

    async def _start(self, spool: UploadSpool, call: Call, request: Request, target: S3Target) -> Response:
        check_key(target.key)
        record = UploadRecord(
            target.key,
            request.headers.get("content-type") or "binary/octet-stream",
            request_metadata(request),
            call.key.arn,
        )
        upload_id = new_upload_id(call.now, call.services.new_id().replace("-", ""))
        upload = await run_in_threadpool(spool.start, call.account, target.bucket, upload_id, record)
        root = xml_element(
            "InitiateMultipartUploadResult", Bucket=upload.bucket, Key=upload.key, UploadId=upload_id
        )
        return xml_response(root, headers={**_expiry(call, upload), **_ENCRYPTED})

    async def _upload_part(
        self, spool: UploadSpool, call: Call, request: Request, body: Payload, upload: Upload, number: str
    ) -> Response:
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= 10000:
            raise S3Error(
                "InvalidArgument",
                400,
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber",
                ArgumentValue=number[:100],
            )
        # The edge has read, checked and (if aws-chunked) decoded the body; spooled ones stay on disk.
        await run_in_threadpool(check_integrity, request, body)
        part = await run_in_threadpool(spool.put_part, upload, int(number), body, call.now)
        return Response(headers={"ETag": f'"{part.md5}"', **_ENCRYPTED})

    async def _complete(self, spool: UploadSpool, call: Call, body: Payload, upload: Upload) -> Response:
        listed = listed_parts(body.read())
        storage, record = call.services.storage, upload.record

        def store(path: Path) -> object:
            return storage.put_object_file(
                upload.bucket, upload.key, path, record.metadata, record.content_type
            )

        etag = await run_in_threadpool(spool.complete, upload, listed, store)
        result = xml_element(
            "CompleteMultipartUploadResult",
            Location=f"/{upload.bucket}/{upload.key}",
            Bucket=upload.bucket,
            Key=upload.key,
            ETag=f'"{etag}"',
        )
        return xml_response(result, headers=_ENCRYPTED)


def _expiry(call: Call, upload: Upload) -> dict[str, str]:
    """When the upload will be aborted, as S3 tells of a lifecycle rule's abort."""
    expires = upload.initiated + call.services.settings.multipart_expiry_seconds
    return {"x-amz-abort-date": http_time(expires), "x-amz-abort-rule-id": EXPIRY_RULE}
