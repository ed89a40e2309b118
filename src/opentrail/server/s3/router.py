"""A path-style S3 API subset over the bucket store, so `aws s3` and `validate-logs` need no other server.

    GET /                          ListBuckets (the caller's buckets and unowned ones)
    PUT|HEAD /<bucket>             CreateBucket, HeadBucket
    GET /<bucket>?location         GetBucketLocation (empty: us-east-1)
    GET /<bucket>[?list-type=2]    ListObjects v1 / v2
    GET|HEAD|PUT|DELETE /<b>/<k>   GetObject (with Range), HeadObject, PutObject, DeleteObject
    GET /<bucket>?uploads          ListMultipartUploads
    POST|PUT|GET|DELETE /<b>/<k>?uploads|uploadId   multipart uploads (``multipart/``)

The edge has authenticated the call; this module checks bucket ownership (a bucket recorded for another
account is AccessDenied, one with no recorded owner is served to any caller) and speaks S3's XML.
"""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from opentrail.context import Call
from opentrail.errors import (
    ApiError,
    BucketExists,
    InvalidBucketName,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    S3Error,
    StorageError,
)
from opentrail.server.payload import Payload
from opentrail.server.s3 import listing
from opentrail.server.s3.buckets import authorize, create_bucket, list_buckets
from opentrail.server.s3.multipart import MultipartUploads
from opentrail.server.s3.objects import get_object, put_object
from opentrail.server.s3.responses import not_implemented, xml_element, xml_error, xml_response
from opentrail.server.s3.target import S3Target, target_of

log = logging.getLogger("opentrail")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/s3/aws4_request")
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


def is_s3(request: Request) -> bool:
    """Whether the request is signed for service s3 (header or presigned URL), read before verifying so
    that even authentication failures come back in S3's shape."""
    if _SCOPE.search(request.headers.get("authorization", "")):
        return True
    query = request.query_params
    if "AWSAccessKeyId" in query and "Signature" in query:
        return True  # SigV2 query signatures exist only for S3.
    return query.get("X-Amz-Credential", "").endswith("/s3/aws4_request")


class S3Api:
    """The S3 subset of one app: routes each request, and holds the multipart uploads in progress."""

    def __init__(self) -> None:
        self.uploads = MultipartUploads()

    async def handle(self, call: Call, request: Request, body: Payload) -> Response:
        target = target_of(request)
        context = {"BucketName": target.bucket} if target.bucket else {}
        if target.key:
            context["Key"] = target.key
        head = request.method == "HEAD"
        try:
            return await self._route(call, request, body, target)
        except ApiError as err:
            return xml_error(err, call.request_id, head, **context)
        except StorageError as err:
            return xml_error(_storage_error(err), call.request_id, head, **context)

    async def _route(self, call: Call, request: Request, body: Payload, target: S3Target) -> Response:
        method, query = request.method, target.query
        for name, operation in _UNSUPPORTED.items():
            if name in query:
                raise not_implemented(f"{method} ?{name} ({operation})")
        if not target.bucket:
            if method == "GET":
                return await list_buckets(call)
            raise S3Error("MethodNotAllowed", 405, f"{method} / is not allowed; only GET / (ListBuckets)")
        if not target.key:
            if method == "PUT":
                return await create_bucket(call, target.bucket, body.read())
            await authorize(call, target.bucket)
            if method == "HEAD":
                return Response(headers={"x-amz-bucket-region": "us-east-1"})
            if method == "GET" and "location" in query:
                return xml_response(xml_element("LocationConstraint"))
            if method == "GET" and "uploads" in query:
                return await self.uploads.list_uploads(call, target)
            if method == "GET":
                found = await run_in_threadpool(
                    listing.list_objects, call.services.storage, target.bucket, query
                )
                return xml_response(found)
            if method == "DELETE":
                raise not_implemented("DeleteBucket")
            raise S3Error("MethodNotAllowed", 405, f"{method} is not allowed on a bucket")
        if method in ("GET", "HEAD") and "uploadId" not in query and "uploads" not in query:
            # The read the validators make once per file: authorized on the same worker-thread hop.
            return await get_object(call, request, target, head=method == "HEAD")
        await authorize(call, target.bucket)
        if "uploadId" in query or "uploads" in query:
            return await self.uploads.handle(call, request, body, target)
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                raise not_implemented("CopyObject")
            return await put_object(call, request, body, target)
        if method == "DELETE":
            await run_in_threadpool(call.services.storage.delete_object, target.bucket, target.key)
            return Response(status_code=204)
        raise S3Error("MethodNotAllowed", 405, f"{method} is not allowed on an object")


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
