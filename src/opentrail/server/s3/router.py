"""A path-style S3 API subset over the bucket store, so `aws s3` and `validate-logs` need no other server.

    GET /                             ListBuckets (the caller's buckets and unowned ones, with creation dates)
    PUT|HEAD|DELETE /<bucket>         CreateBucket, HeadBucket, DeleteBucket
    GET /<bucket>?location            GetBucketLocation (empty: us-east-1)
    GET /<bucket>[?list-type=2]       ListObjects v1 / v2
    GET /<bucket>?uploads             ListMultipartUploads
    POST /<bucket>?delete             DeleteObjects
    GET|HEAD|PUT|DELETE /<b>/<k>      GetObject (with Range), HeadObject, PutObject, DeleteObject
    POST|PUT|GET|DELETE /<b>/<k>?uploads|uploadId   multipart uploads (``multipart/``)

Anything else is S3's 501 NotImplemented or 405 MethodNotAllowed (``subset``). The edge has
authenticated the call; this module checks bucket ownership (a bucket recorded for another account is
AccessDenied, one with no recorded owner is served to any caller) and speaks S3's XML.
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
    BucketNotEmpty,
    InvalidBucketName,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    S3Error,
    StorageError,
)
from opentrail.server.payload import Payload
from opentrail.server.s3 import listing
from opentrail.server.s3.buckets import REGION, authorize, create_bucket, delete_bucket, list_buckets
from opentrail.server.s3.deletion import delete_object, delete_objects
from opentrail.server.s3.multipart import MultipartUploads
from opentrail.server.s3.objects import get_object, put_object
from opentrail.server.s3.responses import (
    method_not_allowed,
    not_implemented,
    xml_element,
    xml_error,
    xml_response,
)
from opentrail.server.s3.subset import refuse_what_is_outside
from opentrail.server.s3.target import S3Target, target_of
from opentrail.storage import SSE_S3

log = logging.getLogger("opentrail")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/s3/aws4_request")


def is_s3(request: Request) -> bool:
    """Whether the request is signed for service s3 (header or presigned URL), read before verifying so
    that even authentication failures come back in S3's shape."""
    # Every Authorization line: a repeated header is refused, in the shape of the service it names.
    if any(_SCOPE.search(value) for value in request.headers.getlist("authorization")):
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
        return (await self.answer(call, request, body))[0]

    async def answer(self, call: Call, request: Request, body: Payload) -> tuple[Response, ApiError | None]:
        """The response, and the error it renders (None on success) for the call's audit record."""
        target = target_of(request)
        head = request.method == "HEAD"
        try:
            return await self._route(call, request, body, target), None
        except ApiError as err:
            return xml_error(err, call.request_id, head, **_context(err, target)), err
        except StorageError as err:
            s3_err = _storage_error(err)
            return xml_error(s3_err, call.request_id, head, **_context(s3_err, target)), s3_err

    async def _route(self, call: Call, request: Request, body: Payload, target: S3Target) -> Response:
        refuse_what_is_outside(request, target)
        method = request.method
        if not target.bucket:
            if method == "GET":
                return await list_buckets(call, target.query)
            raise method_not_allowed(method, "SERVICE")
        if not target.key:
            return await self._bucket(call, request, body, target)
        if method in ("GET", "HEAD") and "uploadId" not in target.query and "uploads" not in target.query:
            # The read the validators make once per file: authorized on the same worker-thread hop.
            return await get_object(call, request, target, head=method == "HEAD")
        await authorize(call, target.bucket)
        if "uploadId" in target.query or "uploads" in target.query:
            return await self.uploads.handle(call, request, body, target)
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                raise not_implemented("CopyObject")
            response = await put_object(call, request, body, target)
            response.headers["x-amz-server-side-encryption"] = SSE_S3
            return response
        if method == "DELETE":
            return await delete_object(call, target)
        raise method_not_allowed(method, "OBJECT")

    async def _bucket(self, call: Call, request: Request, body: Payload, target: S3Target) -> Response:
        method, query = request.method, target.query
        if method == "PUT":
            return await create_bucket(call, target.bucket, body.read())
        await authorize(call, target.bucket)
        if method == "HEAD":
            return Response(headers={"x-amz-bucket-region": REGION})
        if method == "GET" and "location" in query:
            return xml_response(xml_element("LocationConstraint"))
        if method == "GET" and "uploads" in query:
            return await self.uploads.list_uploads(call, target)
        if method == "GET":
            found = await run_in_threadpool(listing.list_objects, call.services.storage, target.bucket, query)
            return xml_response(found)
        if method == "POST" and "delete" in query:
            return await delete_objects(call, request, body.read(), target.bucket)
        if method == "DELETE":
            response = await delete_bucket(call, target.bucket)
            # S3 discards a deleted bucket's uploads in progress.
            await self.uploads.forget_bucket(call, target.bucket)
            return response
        raise method_not_allowed(method, "BUCKET")


def _context(err: ApiError, target: S3Target) -> dict[str, str]:
    """What S3 names beside an error: the resource it was asked of for NotImplemented, else the bucket
    and key."""
    if isinstance(err, S3Error) and err.s3_code == "NotImplemented":
        return {"Resource": target.resource}
    context = {"BucketName": target.bucket} if target.bucket else {}
    if target.key:
        context["Key"] = target.key
    return context


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
    if isinstance(err, BucketNotEmpty):
        return S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty")
    log.warning("bucket store failure: %s", err)
    return S3Error("ServiceUnavailable", 503, f"the bucket store failed, retry: {err}")
