"""Bucket storage, opened from a URL by scheme."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import ConfigError
from .base import (
    BucketExists,
    InvalidBucketName,
    InvalidKey,
    Listing,
    NoSuchBucket,
    NoSuchKey,
    ObjectInfo,
    Storage,
    StorageError,
    check_bucket_name,
)
from .local import LocalStorage

__all__ = [
    "BucketExists",
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


def open_storage(url: str) -> LocalStorage:
    """``file:///path`` opens the local bucket store."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(Path(unquote(parts.path)))
    raise ConfigError(
        f"storage URL {url!r} has an unsupported scheme {parts.scheme!r}; expected file:///path"
    )
