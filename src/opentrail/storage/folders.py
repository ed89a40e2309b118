"""Buckets as folders of the local bucket store: when each was created, and removing an empty one.

A bucket's creation time is recorded when it is made, in ``<root>/.buckets/<bucket>`` (a small JSON
document: the folder's modification time right after ``mkdir``, the filesystem's clock, the one objects'
``LastModified`` comes from). A folder has no creation time of its own on Linux (``st_birthtime`` is not
exposed) and its modification time moves whenever an entry is added or removed, so the record is the
only stable answer. A bucket made before times were recorded, or by hand, has none: the first listing
records its folder's modification time then, so that from then on it stays the same.

A bucket is deleted only when it holds no object: empty folders left by deleted objects are removed
first, then the bucket folder itself with ``rmdir``, which the kernel refuses while anything is in it,
a write in flight (its staged temp file) included. What else belongs to the bucket (its sidecars under
``.meta``, its creation record) goes after.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import uuid
from pathlib import Path

from opentrail.errors import BucketNotEmpty, NoSuchBucket, StorageError
from opentrail.storage.files import fsync_dir, makedirs, write_atomic

CREATED_DIR = ".buckets"
META_DIR = ".meta"


def record_created(root: Path, name: str) -> None:
    """Record that bucket ``name`` (its folder just made) was created now."""
    created = (root / name).stat().st_mtime
    folder = root / CREATED_DIR
    makedirs(folder)
    write_atomic(folder / name, json.dumps({"created": created}).encode())


def created(root: Path, name: str) -> float:
    """When bucket ``name`` was created; recorded now (as its folder's modification time) if it never
    was. Blocking."""
    path = root / CREATED_DIR / name
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("created"), int | float):
        return float(doc["created"])
    try:
        when = (root / name).stat().st_mtime
    except OSError as exc:
        raise StorageError(f"cannot read bucket {name} under {root}: {exc}") from None
    # Best effort: a read-only bucket store still answers, with a time that may move.
    with contextlib.suppress(OSError):
        makedirs(path.parent)
        write_atomic(path, json.dumps({"created": when}).encode())
    return when


def remove_empty(root: Path, name: str) -> None:
    """Delete bucket ``name`` if it holds no object; ``BucketNotEmpty`` if it does."""
    base = root / name
    if not base.is_dir():
        raise NoSuchBucket(f"bucket {name} does not exist")
    try:
        # Deepest folders first: the first file met (an object, or a write under way) ends the walk.
        for dirpath, dirnames, filenames in os.walk(base, topdown=False):
            if filenames:
                raise BucketNotEmpty(f"bucket {name} is not empty")
            for folder in dirnames:
                os.rmdir(os.path.join(dirpath, folder))
        base.rmdir()
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise BucketNotEmpty(f"bucket {name} is not empty") from None
        if exc.errno == errno.ENOENT and not base.exists():
            raise NoSuchBucket(f"bucket {name} does not exist") from None
        raise StorageError(f"cannot delete bucket {name} under {root}: {exc}") from None
    fsync_dir(root)
    _forget(root, name)


def _forget(root: Path, name: str) -> None:
    """Remove what a deleted bucket leaves beside its folder: the creation record and the sidecars.
    The sidecars move aside first, so a bucket created again at once starts with none of them."""
    with contextlib.suppress(FileNotFoundError):
        (root / CREATED_DIR / name).unlink()
    meta = root / META_DIR / name
    # Bucket names never start with '.', so the moved folder cannot collide with a bucket's sidecars.
    gone = root / META_DIR / f".deleted-{uuid.uuid4().hex}"
    try:
        os.rename(meta, gone)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot remove the sidecars of deleted bucket {name}: {exc}") from None
    shutil.rmtree(gone, ignore_errors=True)
