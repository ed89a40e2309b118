"""The local bucket store: buckets as folders under the data dir (the embedded default).

Placeholder kept minimal until the local backend lands with object support.
"""

from __future__ import annotations

import os
from pathlib import Path

from .base import BucketExists, InvalidBucketName, check_bucket_name


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
