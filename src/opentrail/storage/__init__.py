"""Bucket storage, opened from a URL by scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from opentrail.errors import (
    BucketExists,
    BucketNotEmpty,
    ConfigError,
    InvalidBucketName,
    InvalidKey,
    NoSuchBucket,
    NoSuchKey,
    StorageError,
)
from opentrail.storage.base import (
    SSE_KMS,
    SSE_S3,
    BucketInfo,
    Encryption,
    Listing,
    ObjectInfo,
    Storage,
    check_bucket_name,
)
from opentrail.storage.encryption import MasterKey
from opentrail.storage.local import LocalStorage

__all__ = [
    "SSE_KMS",
    "SSE_S3",
    "BucketExists",
    "BucketInfo",
    "BucketNotEmpty",
    "Encryption",
    "InvalidBucketName",
    "InvalidKey",
    "Listing",
    "LocalStorage",
    "NoSuchBucket",
    "NoSuchKey",
    "ObjectInfo",
    "Storage",
    "StorageError",
    "check_bucket_name",
    "open_storage",
]


def open_storage(url: str, master_key: MasterKey | None = None) -> Storage:
    """``file:///path`` opens the local bucket store; ``s3://`` (optionally ``s3://?region=R``) opens S3.

    ``master_key`` lets the local bucket store encrypt and decrypt SSE-KMS objects (S3 has its own KMS).

    The S3 URL names no bucket (trails name their own) and no endpoint: the AWS chain supplies it
    (``AWS_ENDPOINT_URL_S3``), as it supplies credentials.
    """
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(Path(unquote(parts.path)), master_key)
    if parts.scheme == "s3":
        if parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(
                f"storage URL {url!r} must not name a bucket or path; use s3:// (trails name their buckets)"
            )
        query = parse_qs(parts.query)
        unknown = set(query) - {"region"}
        if unknown:
            raise ConfigError(
                f"storage URL {url!r} has unknown parameters {sorted(unknown)}; expected region"
            )
        from opentrail.storage.s3 import S3Storage

        return S3Storage(region=query["region"][-1] if "region" in query else None)
    raise ConfigError(
        f"storage URL {url!r} has an unsupported scheme {parts.scheme!r}; expected file:///path or s3://"
    )
