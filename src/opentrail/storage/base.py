"""The ``Storage`` seam: buckets of objects with user metadata, for log files and digests.

Backends implement the underscore methods and do only I/O; ``Storage`` checks names and keys (untrusted
input) before any backend sees them, so every backend refuses the same things in the same words.
Object metadata (``x-amz-meta-*``) must survive exactly, lower-case names included: the digest signature
lives there. An object may be stored with server-side encryption (``Encryption``): readers get the
plaintext either way, and head/get report how it is stored, as S3's ``x-amz-server-side-encryption``
headers do. Buckets have a creation time (``BucketInfo``) and are deleted only when empty.
"""

from __future__ import annotations

import abc
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path

from opentrail.errors import (
    InvalidBucketName,
    InvalidKey,
    StorageError,
)

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1024


SSE_KMS = "aws:kms"
SSE_S3 = "AES256"


@dataclass(frozen=True, slots=True)
class Encryption:
    """S3 server-side encryption: ``aws:kms`` under the KMS key ``key_id`` (an ARN), or ``AES256``
    (SSE-S3, the store's own key)."""

    mode: str
    key_id: str | None = None

    def __post_init__(self) -> None:
        if self.mode == SSE_KMS and not self.key_id:
            raise StorageError("server-side encryption aws:kms needs a KMS key id")
        if self.mode == SSE_S3 and self.key_id is not None:
            raise StorageError("server-side encryption AES256 takes no KMS key id")
        if self.mode not in (SSE_KMS, SSE_S3):
            raise StorageError(f"server-side encryption must be {SSE_KMS!r} or {SSE_S3!r}, got {self.mode!r}")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # hex MD5 of the content, without quotes
    last_modified: float  # epoch seconds
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    sse: Encryption | None = None  # how the object is stored; readers always get plaintext


@dataclass(frozen=True, slots=True)
class BucketInfo:
    name: str
    created: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class Listing:
    objects: list[ObjectInfo]
    truncated: bool


def check_bucket_name(name: str) -> None:
    """S3's bucket naming rules; raises ``InvalidBucketName`` with the rule that failed."""
    if not _BUCKET.match(name):
        raise InvalidBucketName(
            f"bucket name {name!r} must be 3-63 characters of lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        raise InvalidBucketName(f"bucket name {name!r} must not contain '..', '.-' or '-.'")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return
    raise InvalidBucketName(f"bucket name {name!r} must not be formatted as an IP address")


def check_key(key: str) -> None:
    try:
        size = len(key.encode())
    except UnicodeEncodeError:
        raise InvalidKey(f"object key {key!r} is not valid Unicode (lone surrogate)") from None
    if not key or size > MAX_KEY_BYTES:
        raise InvalidKey(f"object key must be 1 to {MAX_KEY_BYTES} bytes of UTF-8, got {size}")
    if "\x00" in key:
        raise InvalidKey("object key must not contain NUL")


class Storage(abc.ABC):
    """Public methods check input, then call the backend's underscore method."""

    # Whether a read is cheaper done in place than on a worker thread (a local disk behind the page
    # cache: tens of microseconds); not for a backend whose every read is a network round trip.
    inline_reads: bool = False

    def create_bucket(self, name: str) -> None:
        check_bucket_name(name)
        self._create_bucket(name)

    def list_buckets(self) -> list[str]:
        return [bucket.name for bucket in self.describe_buckets()]

    def describe_buckets(self) -> list[BucketInfo]:
        """Every bucket with its creation time, by name."""
        return sorted(self._describe_buckets(), key=lambda bucket: bucket.name)

    def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket: ``BucketNotEmpty`` while it holds an object (or a write is under way
        into it), ``NoSuchBucket`` if there is none."""
        check_bucket_name(name)
        self._delete_bucket(name)

    def bucket_exists(self, name: str) -> bool:
        try:
            check_bucket_name(name)
        except InvalidBucketName:
            return False
        return self._bucket_exists(name)

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
        sse: Encryption | None = None,
    ) -> ObjectInfo:
        """Write atomically: readers see the old object or the whole new one, metadata included.

        ``sse`` stores the object with server-side encryption; ``get_object`` still returns plaintext."""
        check_bucket_name(bucket)
        check_key(key)
        return self._put_object(
            bucket, key, data, {k.lower(): v for k, v in (metadata or {}).items()}, content_type, sse
        )

    def put_object_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        metadata: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
        sse: Encryption | None = None,
    ) -> ObjectInfo:
        """``put_object`` of a file's bytes (a spooled upload). The file is the caller's to remove; a
        backend that can write from the file without reading it into memory overrides ``_put_object_file``."""
        check_bucket_name(bucket)
        check_key(key)
        meta = {k.lower(): v for k, v in (metadata or {}).items()}
        return self._put_object_file(bucket, key, path, meta, content_type, sse)

    def _put_object_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None,
    ) -> ObjectInfo:
        return self._put_object(bucket, key, path.read_bytes(), metadata, content_type, sse)

    def get_object(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        check_bucket_name(bucket)
        check_key(key)
        return self._get_object(bucket, key)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        check_bucket_name(bucket)
        check_key(key)
        return self._head_object(bucket, key)

    def delete_object(self, bucket: str, key: str) -> None:
        """Deleting a missing key is not an error (as in S3)."""
        check_bucket_name(bucket)
        check_key(key)
        self._delete_object(bucket, key)

    def list_objects(self, bucket: str, prefix: str = "", after: str = "", limit: int = 1000) -> Listing:
        """Objects whose key starts with ``prefix`` and sorts after ``after``, in UTF-8 byte order.

        Listed objects carry key, size, ETag and time only; ``head_object`` gives content type and metadata.
        """
        check_bucket_name(bucket)
        for name, value in (("prefix", prefix), ("start key", after)):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise InvalidKey(f"listing {name} {value!r} is not valid Unicode (lone surrogate)") from None
        return self._list_objects(bucket, prefix, after, max(1, min(limit, 1000)))

    @abc.abstractmethod
    def _describe_buckets(self) -> list[BucketInfo]: ...

    @abc.abstractmethod
    def _create_bucket(self, name: str) -> None: ...

    @abc.abstractmethod
    def _delete_bucket(self, name: str) -> None: ...

    @abc.abstractmethod
    def _bucket_exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def _put_object(
        self,
        bucket: str,
        key: str,
        data: bytes,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None = None,
    ) -> ObjectInfo: ...

    @abc.abstractmethod
    def _get_object(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]: ...

    @abc.abstractmethod
    def _head_object(self, bucket: str, key: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def _delete_object(self, bucket: str, key: str) -> None: ...

    @abc.abstractmethod
    def _list_objects(self, bucket: str, prefix: str, after: str, limit: int) -> Listing: ...
