"""Bucket storage behind one interface: the local bucket store (folders under the data dir).

Trail delivery writes log and digest files here; CreateTrail checks that the bucket exists. Bucket names
and object keys are untrusted input: names follow S3's rules and keys can never leave their bucket.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from .errors import ConfigError, OpenTrailError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class InvalidBucketName(OpenTrailError):
    pass


class BucketExists(OpenTrailError):
    pass


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


class Storage(Protocol):
    def create_bucket(self, name: str) -> None: ...

    def bucket_exists(self, name: str) -> bool: ...


class LocalStorage:
    """Buckets as folders: ``<root>/<bucket>/<key>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def create_bucket(self, name: str) -> None:
        check_bucket_name(name)
        try:
            (self.root / name).mkdir()
        except FileExistsError:
            raise BucketExists(f"bucket {name} already exists") from None

    def bucket_exists(self, name: str) -> bool:
        try:
            check_bucket_name(name)
        except InvalidBucketName:
            return False
        return (self.root / name).is_dir()

    def list_buckets(self) -> list[str]:
        return sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())


def open_storage(url: str) -> LocalStorage:
    """``file:///path`` opens the local bucket store."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalStorage(Path(unquote(parts.path)))
    raise ConfigError(
        f"storage URL {url!r} has an unsupported scheme {parts.scheme!r}; expected file:///path"
    )
