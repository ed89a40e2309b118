"""Any S3-compatible service (AWS S3, MinIO, Ceph) through boto3.

The client comes from the standard AWS chain (environment, shared config, instance role), so
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` point it elsewhere with no code here. Addressing is
path-style because self-hosted services rarely have wildcard DNS for virtual-hosted buckets.
botocore's exceptions are mapped to the storage errors at this boundary and never reach a caller.
S3 stores every key ``Storage`` accepts (``a/../b`` and ``/a`` are plain names to it), so this backend
adds no key rules of its own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import botocore.config
import botocore.exceptions

from opentrail.errors import (
    BucketExists,
    BucketNotEmpty,
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    StorageError,
)
from opentrail.storage.base import (
    SSE_KMS,
    BucketInfo,
    Encryption,
    Listing,
    ObjectInfo,
    Storage,
)

_MISSING_BUCKET = {"NoSuchBucket"}
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_BUCKET_TAKEN = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Storage(Storage):
    """Buckets and objects in an S3-compatible service."""

    def __init__(
        self,
        region: str | None = None,
        endpoint_url: str | None = None,
        session: boto3.Session | None = None,
    ) -> None:
        config = botocore.config.Config(
            s3={"addressing_style": "path"},
            retries={"mode": "standard"},
            # botocore >= 1.36 otherwise adds CRC32 trailers (aws-chunked bodies) that MinIO, Ceph and
            # other S3-compatible services have rejected; Content-MD5-free PUTs work everywhere.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # boto3-stubs without the s3 service package types clients loosely; Any keeps strict mypy honest
        # about that rather than pretending to a shape we do not check.
        try:
            session = session or boto3.Session()
            self.client: Any = session.client(
                "s3", region_name=region, endpoint_url=endpoint_url, config=config
            )
        except botocore.exceptions.BotoCoreError as exc:  # a bad profile or region in the AWS config
            raise StorageError(f"cannot set up the S3 client: {exc}") from None
        self.region: str = self.client.meta.region_name or "us-east-1"

    def _fail(self, exc: Exception, what: str, bucket: str, key: str | None = None) -> StorageError:
        """The storage error for a botocore failure while doing ``what``."""
        if isinstance(exc, botocore.exceptions.ClientError):
            code = _code(exc)
            if code in _MISSING_BUCKET:
                return NoSuchBucket(f"bucket {bucket} does not exist")
            if key is not None and code in _MISSING_KEY:
                return NoSuchKey(f"object {key!r} does not exist in bucket {bucket}")
            if code in _BUCKET_TAKEN:
                return BucketExists(f"bucket {bucket} already exists")
            if code == "InvalidBucketName":
                return InvalidBucketName(f"bucket name {bucket!r} is refused by S3")
            if code == "BucketNotEmpty":
                return BucketNotEmpty(f"bucket {bucket} is not empty")
        target = f"object {key!r} in bucket {bucket}" if key is not None else f"bucket {bucket}"
        return StorageError(f"S3 failed to {what} {target}: {exc}")

    # Buckets

    def _describe_buckets(self) -> list[BucketInfo]:
        buckets: list[BucketInfo] = []
        args: dict[str, Any] = {}
        try:
            while True:
                response = self.client.list_buckets(**args)
                buckets += [
                    BucketInfo(str(b["Name"]), b["CreationDate"].timestamp())
                    for b in response.get("Buckets", [])
                ]
                # Services that page ListBuckets (AWS since 2024, with MaxBuckets) return a token.
                if not response.get("ContinuationToken"):
                    return buckets
                args = {"ContinuationToken": response["ContinuationToken"]}
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise StorageError(f"S3 failed to list buckets: {exc}") from None

    def _create_bucket(self, name: str) -> None:
        # us-east-1 answers a repeated CreateBucket by its owner with success (a legacy rule), so ask
        # first; a bucket created between the two calls is still caught by the error codes below.
        if self._bucket_exists(name):
            raise BucketExists(f"bucket {name} already exists")
        args: dict[str, Any] = {"Bucket": name}
        # us-east-1 refuses an explicit LocationConstraint; every other region requires one.
        if self.region not in ("us-east-1", "aws-global"):
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**args)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "create", name) from None

    def _delete_bucket(self, name: str) -> None:
        try:
            self.client.delete_bucket(Bucket=name)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "delete", name) from None

    def _bucket_exists(self, name: str) -> bool:
        try:
            self.client.head_bucket(Bucket=name)
        except botocore.exceptions.ClientError as exc:
            if _code(exc) in {"404", "NoSuchBucket", "NotFound"}:
                return False
            raise self._fail(exc, "look up", name) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, "look up", name) from None
        return True

    # Objects

    def _put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None = None,
    ) -> ObjectInfo:
        return self._put(bucket, key, data, len(data), metadata, content_type, sse)

    def _put_object_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None,
    ) -> ObjectInfo:
        """One PutObject streamed from the file (botocore reads it a piece at a time). Not boto3's
        ``upload_file``: above its multipart threshold that would make the ETag another than the MD5."""
        try:
            with path.open("rb") as body:
                return self._put(bucket, key, body, path.stat().st_size, metadata, content_type, sse)
        except OSError as exc:
            raise StorageError(f"cannot read the upload of {key!r} for bucket {bucket}: {exc}") from None

    def _put(
        self,
        bucket: str,
        key: str,
        body: bytes | BinaryIO,
        size: int,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None,
    ) -> ObjectInfo:
        args: dict[str, Any] = {}
        if sse is not None:
            args["ServerSideEncryption"] = sse.mode
            if sse.key_id is not None:
                args["SSEKMSKeyId"] = sse.key_id
        try:
            response = self.client.put_object(
                Bucket=bucket, Key=key, Body=body, Metadata=metadata, ContentType=content_type, **args
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "write", bucket, key) from None
        etag = str(response.get("ETag", "")).strip('"')
        # PutObject does not return Last-Modified; the write time is close enough for callers that only
        # record when they delivered.
        return ObjectInfo(key, size, etag, time.time(), content_type, dict(metadata), _sse(response))

    def _get_object(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
            data = response["Body"].read()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "read", bucket, key) from None
        return _info(key, response, len(data)), bytes(data)

    def _head_object(self, bucket: str, key: str) -> ObjectInfo:
        try:
            response = self.client.head_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as exc:
            # HEAD has no body, so a missing bucket also reads as a bare 404: tell them apart.
            if _code(exc) in _MISSING_KEY and not self._bucket_exists(bucket):
                raise NoSuchBucket(f"bucket {bucket} does not exist") from None
            raise self._fail(exc, "read", bucket, key) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise self._fail(exc, "read", bucket, key) from None
        return _info(key, response, int(response.get("ContentLength", 0)))

    def _delete_object(self, bucket: str, key: str) -> None:
        try:
            self.client.delete_object(Bucket=bucket, Key=key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "delete", bucket, key) from None

    def _list_objects(self, bucket: str, prefix: str, after: str, limit: int) -> Listing:
        args: dict[str, Any] = {"Bucket": bucket, "MaxKeys": limit}
        if prefix:
            args["Prefix"] = prefix
        if after:
            args["StartAfter"] = after
        try:
            response = self.client.list_objects_v2(**args)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._fail(exc, "list", bucket) from None
        objects = [
            ObjectInfo(
                str(item["Key"]),
                int(item["Size"]),
                str(item["ETag"]).strip('"'),
                item["LastModified"].timestamp(),
            )
            for item in response.get("Contents", [])
        ]
        return Listing(objects, bool(response.get("IsTruncated", False)))


def _info(key: str, response: dict[str, Any], size: int) -> ObjectInfo:
    return ObjectInfo(
        key,
        size,
        str(response.get("ETag", "")).strip('"'),
        response["LastModified"].timestamp(),
        str(response.get("ContentType", "application/octet-stream")),
        {str(k): str(v) for k, v in response.get("Metadata", {}).items()},
        _sse(response),
    )


def _sse(response: dict[str, Any]) -> Encryption | None:
    """The encryption S3 reports; a service that does not report it (or reports a mode we do not
    model, such as ``aws:kms:dsse``) reads as None."""
    mode = response.get("ServerSideEncryption")
    if not mode:
        return None
    key_id = response.get("SSEKMSKeyId") if mode == SSE_KMS else None
    try:
        return Encryption(str(mode), str(key_id) if key_id else None)
    except StorageError:
        return None
