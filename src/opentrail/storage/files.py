"""Durable files: staged temp files, atomic replacement, fsynced folders, MD5 ETags.

A write goes to a temp file beside its destination (named with ``TMP_PREFIX``, so readers and
listings can tell a write in progress), is fsynced, renamed into place with ``os.replace``, and the
folder is fsynced so the new entry survives a crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

TMP_PREFIX = ".opentrail-tmp-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def makedirs(path: Path) -> None:
    """Create missing folders, fsyncing each new folder's parent so the new entry survives a crash."""
    if path.is_dir():
        return
    makedirs(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise
        return
    fsync_dir(path.parent)


def stage(path: Path, data: bytes) -> str:
    """``data`` written and synced to a temp file beside ``path``, not yet in its place."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def stage_file(path: Path, source: Path) -> str:
    """The bytes of ``source`` staged and synced beside ``path`` like ``stage``'s, without reading them
    into memory whole: a hard link to ``source`` where the filesystem allows one (the caller may then
    remove ``source``), else a copy a piece at a time."""
    tmp = os.path.join(path.parent, f"{TMP_PREFIX}{secrets.token_hex(8)}")
    try:
        try:
            os.link(source, tmp)  # fails rather than replace anything already there
        except OSError:
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def place(tmp: str, path: Path) -> None:
    """A staged temp file renamed into ``path`` (removed if that fails)."""
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    place(stage(path, data), path)


def writing(folder: str) -> bool:
    """Whether a write is under way in ``folder`` (its temp file is there)."""
    try:
        return any(name.startswith(TMP_PREFIX) for name in os.listdir(folder))
    except OSError:
        return False


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
