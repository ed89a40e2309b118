"""The local bucket store: buckets as folders under the data dir (the embedded default).

Layout: ``<root>/<bucket>/<key>`` holds an object's bytes; ``<root>/.meta/<bucket>/<key>`` (the same
relative path) holds its sidecar, a small JSON document with the ETag, size, content type and user
metadata. The sidecar mirrors the data path exactly rather than adding a suffix such as ``.json``,
because a suffix can collide with a real key (the sidecar of ``a`` would be the folder of ``a.json/b``).
Bucket names cannot start with ``.``, so ``.meta`` never collides with a bucket. Buckets' creation times
and their deletion are ``folders``'s.

Server-side encryption is recorded in the sidecar (``sse``: mode and KMS key id). ``aws:kms`` objects are
really encrypted at rest (``kms.ObjectSealer``, under a key derived from the master key); the sidecar
then also holds ``stored_size``, the sealed file's size, while ``size`` and ``etag`` describe the
plaintext readers get. Objects without encryption are stored byte for byte, with no ``sse`` entry.

Limits of a filesystem that S3 does not have (refused with ``InvalidKey``):
- a key is a path, so no segment may be empty, ``.`` or ``..`` (this also refuses a leading ``/``, a
  trailing ``/`` and ``a//b``), and no segment may exceed 255 bytes;
- one key cannot be both an object and a folder: with ``a`` stored, ``a/b`` is refused, and the reverse;
- segments starting with ``.opentrail-tmp-`` are reserved for in-flight writes.

Writes are atomic and durable: a temporary file in the destination folder, fsync, ``os.replace``, fsync
of the folder. The sidecar is written before the data, so an object visible after a crash always has
its metadata. An overwrite interrupted by a crash can leave the old bytes under the new sidecar; readers
detect that by size or ETag and fall back to the bytes' own ETag, and delivery's idempotent rewrite repairs
it. Concurrent writers of one key are last-writer-wins, as in S3.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from opentrail.errors import BucketExists, InvalidKey, NoSuchBucket, NoSuchKey, SealFailed, StorageError
from opentrail.storage import folders
from opentrail.storage.base import (
    SSE_KMS,
    BucketInfo,
    Encryption,
    Listing,
    ObjectInfo,
    Storage,
)
from opentrail.storage.encryption import MasterKey
from opentrail.storage.files import (
    TMP_PREFIX,
    fsync_dir,
    makedirs,
    md5,
    md5_file,
    place,
    stage,
    stage_file,
    write_atomic,
    writing,
)
from opentrail.storage.folders import META_DIR
from opentrail.storage.kms import MAGIC, ObjectSealer

NAME_MAX = 255
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# A reader that sees a sidecar from another write than the bytes waits for the writer, whose data
# rename follows its sidecar rename (on a busy machine, by far more than milliseconds). While a write
# is under way in the object's folder (its staged temp file is there) it waits up to this long; with
# none, the disagreement is an interrupted write's leftover, read as it is after a few tries.
_READ_WAIT_SECONDS = 2.0
_READ_TRIES_WITHOUT_WRITER = 3


def _segments(key: str) -> list[str]:
    """The key's path segments, or ``InvalidKey`` if the key cannot be a path inside the bucket."""
    parts = key.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidKey(
                f"object key {key!r} is not storable in the local bucket store: its '/'-separated "
                "segments must not be empty, '.' or '..' (no leading, trailing or doubled '/')"
            )
        if len(part.encode()) > NAME_MAX:
            raise InvalidKey(
                f"object key {key!r} has a segment of {len(part.encode())} bytes; "
                f"the local bucket store allows at most {NAME_MAX}"
            )
        if part.startswith(TMP_PREFIX):
            raise InvalidKey(
                f"object key {key!r} has a segment starting with {TMP_PREFIX!r}, "
                "which the local bucket store reserves for writes in progress"
            )
    return parts


class LocalStorage(Storage):
    """Buckets as folders: ``<root>/<bucket>/<key>``, sidecars under ``<root>/.meta/``."""

    inline_reads = True

    def __init__(self, root: Path, master_key: MasterKey | None = None) -> None:
        """``master_key`` is needed only for SSE-KMS objects (to seal and open them)."""
        self.root = root
        self._sealer = ObjectSealer(master_key) if master_key is not None else None
        root.mkdir(parents=True, exist_ok=True)

    def _sealer_for(self, bucket: str, key: str) -> ObjectSealer:
        if self._sealer is None:
            raise StorageError(
                f"object {key!r} in bucket {bucket} uses SSE-KMS, which the local bucket store needs the "
                "master key for; open the store with the data dir's master.key"
            )
        return self._sealer

    # Buckets

    def list_buckets(self) -> list[str]:
        return sorted(
            entry.name
            for entry in os.scandir(self.root)
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
        )

    def _describe_buckets(self) -> list[BucketInfo]:
        return [BucketInfo(name, folders.created(self.root, name)) for name in self.list_buckets()]

    def _create_bucket(self, name: str) -> None:
        try:
            (self.root / name).mkdir()
            fsync_dir(self.root)
            folders.record_created(self.root, name)
        except FileExistsError:
            raise BucketExists(f"bucket {name} already exists") from None
        except OSError as exc:
            raise StorageError(f"cannot create bucket {name} under {self.root}: {exc}") from None

    def _delete_bucket(self, name: str) -> None:
        folders.remove_empty(self.root, name)

    def _bucket_exists(self, name: str) -> bool:
        return (self.root / name).is_dir()

    def _bucket_dir(self, bucket: str) -> Path:
        path = self.root / bucket
        if not path.is_dir():
            raise NoSuchBucket(f"bucket {bucket} does not exist")
        return path

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
        doc = _sidecar_doc(md5(data), len(data), metadata, content_type, sse)
        stored = data
        if sse is not None and sse.mode == SSE_KMS and sse.key_id:
            stored = self._sealer_for(bucket, key).seal(sse.key_id, bucket, key, data)
            doc["stored_size"] = len(stored)
        return self._write(bucket, key, doc, lambda target: stage(target, stored))

    def _put_object_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        metadata: dict[str, str],
        content_type: str,
        sse: Encryption | None,
    ) -> ObjectInfo:
        """The file becomes the object without passing through memory: hard-linked into the bucket (a
        copy where it cannot be linked), hashed a piece at a time. SSE-KMS objects are sealed whole, so
        those are read into memory like any ``put_object``."""
        if sse is not None and sse.mode == SSE_KMS:
            return super()._put_object_file(bucket, key, path, metadata, content_type, sse)
        try:
            doc = _sidecar_doc(md5_file(path), path.stat().st_size, metadata, content_type, sse)
        except OSError as exc:
            raise StorageError(f"cannot read the upload of {key!r} for bucket {bucket}: {exc}") from None
        return self._write(bucket, key, doc, lambda target: stage_file(target, path))

    def _write(
        self, bucket: str, key: str, doc: dict[str, Any], staged_at: Callable[[Path], str]
    ) -> ObjectInfo:
        """Stage the bytes beside the object (``staged_at``), then sidecar, then the bytes in place."""
        parts = _segments(key)
        base = self._bucket_dir(bucket)
        self._check_shape(base, key, parts)
        sidecar = json.dumps(doc, sort_keys=True).encode()
        meta = self.root / META_DIR / bucket
        target = base.joinpath(*parts)
        try:
            # A concurrent delete may remove a freshly made empty folder before our temp file lands in it.
            for attempt in range(3):
                staged: str | None = None
                try:
                    # The bytes are staged (a temp file beside the object) before the sidecar is
                    # replaced, so a reader that meets the new sidecar with the old bytes sees that a
                    # write is under way and waits for it (``_get_object``).
                    makedirs(target.parent)
                    staged = staged_at(target)
                    self._write_sidecar(meta, parts, sidecar)
                    place(staged, target)
                    break
                except FileNotFoundError:
                    if staged is not None:
                        with contextlib.suppress(OSError):
                            os.unlink(staged)
                    if attempt == 2:
                        raise
            stat = target.stat()
        except OSError as exc:
            raise StorageError(f"cannot write object {key!r} in bucket {bucket}: {exc}") from None
        metadata, sse = dict(doc["metadata"]), _sse(doc)
        return ObjectInfo(key, doc["size"], doc["etag"], stat.st_mtime, doc["content_type"], metadata, sse)

    def _check_shape(self, base: Path, key: str, parts: list[str]) -> None:
        """Refuse a key that would make one object both a file and a folder."""
        path = base
        for depth, part in enumerate(parts[:-1], start=1):
            path = path / part
            if path.is_file():
                raise InvalidKey(
                    f"object key {key!r} needs {'/'.join(parts[:depth])!r} to be a folder, but an object "
                    "with that key exists; the local bucket store cannot hold both"
                )
        if (path / parts[-1]).is_dir():
            raise InvalidKey(
                f"object key {key!r} is a folder of other objects in the local bucket store; "
                "it cannot also be an object"
            )

    def _write_sidecar(self, meta: Path, parts: list[str], sidecar: bytes) -> None:
        target = meta.joinpath(*parts)
        try:
            makedirs(target.parent)
            write_atomic(target, sidecar)
        except (NotADirectoryError, IsADirectoryError, FileExistsError):
            # The data tree has no file/folder clash (checked), so a clash here is a sidecar left behind
            # by a delete that crashed between removing the bytes and removing the sidecar.
            self._drop_stale_sidecars(meta, parts)
            makedirs(target.parent)
            write_atomic(target, sidecar)

    def _drop_stale_sidecars(self, meta: Path, parts: list[str]) -> None:
        path = meta
        for part in parts[:-1]:
            path = path / part
            if path.exists() and not path.is_dir():
                path.unlink()
        target = path / parts[-1]
        if target.is_dir():
            for dirpath, dirnames, filenames in os.walk(target, topdown=False):
                for name in filenames:
                    os.unlink(os.path.join(dirpath, name))
                for name in dirnames:
                    os.rmdir(os.path.join(dirpath, name))
            target.rmdir()

    def _read_sidecar(self, bucket: str, parts: list[str]) -> dict[str, Any]:
        try:
            with open(os.path.join(self.root, META_DIR, bucket, *parts), "rb") as src:
                doc = json.loads(src.read())
        except (OSError, ValueError):
            # Objects copied in by hand (or by the old store) have no sidecar: plain defaults.
            return {}
        if not isinstance(doc, dict) or not isinstance(doc.get("metadata", {}), dict):
            return {}
        return doc

    def _info(self, bucket: str, key: str, parts: list[str], path: Path) -> ObjectInfo:
        stat = path.stat()
        side = self._read_sidecar(bucket, parts)
        etag = side.get("etag")
        sse = _sse(side)
        if sse is not None and sse.mode == SSE_KMS:
            size = side.get("size")
            if (
                side.get("stored_size") != stat.st_size
                or not isinstance(etag, str)
                or not isinstance(size, int)
            ):
                return self._get_object(bucket, key)[0]  # sidecar and bytes disagree: read the bytes
            return ObjectInfo(
                key, size, etag, stat.st_mtime, _content_type(side), dict(side.get("metadata", {})), sse
            )
        if side.get("size") != stat.st_size or not isinstance(etag, str):
            etag = md5_file(path)
        return ObjectInfo(
            key, stat.st_size, etag, stat.st_mtime, _content_type(side), dict(side.get("metadata", {})), sse
        )

    def _object_path(self, bucket: str, key: str) -> tuple[list[str], Path]:
        parts = _segments(key)
        return parts, self._bucket_dir(bucket).joinpath(*parts)

    def _get_object(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
        # Plain os calls, not pathlib: this is the read every GetObject makes, and pathlib's parsing
        # cost more than the read. The bucket is looked for only when the object is not there.
        parts = _segments(key)
        path = os.path.join(self.root, bucket, *parts)
        failed: SealFailed | None = None
        deadline = time.monotonic() + _READ_WAIT_SECONDS
        unwritten = 0  # tries that found no write under way in the object's folder
        while True:
            try:
                with open(path, "rb") as src:
                    stat = os.fstat(src.fileno())
                    data = src.read()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self._bucket_dir(bucket)
                raise NoSuchKey(f"object {key!r} does not exist in bucket {bucket}") from None
            except OSError as exc:
                raise StorageError(f"cannot read object {key!r} in bucket {bucket}: {exc}") from None
            side = self._read_sidecar(bucket, parts)
            try:
                data, sse = self._decode(bucket, key, side, data)
            except SealFailed as exc:
                failed = exc  # perhaps a sidecar from a newer write than the bytes: retry
            else:
                failed = None
                etag = md5(data)
                if side.get("etag", etag) == etag:
                    break
            unwritten = 0 if writing(os.path.dirname(path)) else unwritten + 1
            if unwritten >= _READ_TRIES_WITHOUT_WRITER or time.monotonic() >= deadline:
                break
            time.sleep(0.01)
        if failed is not None:
            raise failed
        info = ObjectInfo(
            key, len(data), etag, stat.st_mtime, _content_type(side), dict(side.get("metadata", {})), sse
        )
        return info, data

    def _decode(
        self, bucket: str, key: str, side: dict[str, Any], stored: bytes
    ) -> tuple[bytes, Encryption | None]:
        """The plaintext of ``stored`` and how it was stored, as the sidecar says."""
        sse = _sse(side)
        if sse is None or sse.mode != SSE_KMS or sse.key_id is None:
            return stored, sse
        if not stored.startswith(MAGIC):
            return stored, None  # plain bytes under a newer sidecar (an overwrite in flight)
        return self._sealer_for(bucket, key).open(sse.key_id, bucket, key, stored), sse

    def _head_object(self, bucket: str, key: str) -> ObjectInfo:
        parts, path = self._object_path(bucket, key)
        try:
            if not path.is_file():
                raise NoSuchKey(f"object {key!r} does not exist in bucket {bucket}")
            return self._info(bucket, key, parts, path)
        except FileNotFoundError:
            raise NoSuchKey(f"object {key!r} does not exist in bucket {bucket}") from None
        except OSError as exc:
            raise StorageError(f"cannot read object {key!r} in bucket {bucket}: {exc}") from None

    def _delete_object(self, bucket: str, key: str) -> None:
        parts, path = self._object_path(bucket, key)
        meta = self.root / META_DIR / bucket
        try:
            if path.is_dir():
                return  # a folder of other objects, not an object: nothing to delete, as in S3
            # Bytes first, then the sidecar: a crash in between leaves a stale sidecar (harmless,
            # dropped on the next write), never an object without its metadata.
            for tree in (self.root / bucket, meta):
                target = tree.joinpath(*parts)
                try:
                    target.unlink()
                except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                    continue
                fsync_dir(target.parent)
                self._prune(tree, target.parent)
        except OSError as exc:
            raise StorageError(f"cannot delete object {key!r} in bucket {bucket}: {exc}") from None

    @staticmethod
    def _prune(top: Path, folder: Path) -> None:
        """Remove folders left empty up to (not including) ``top``; a concurrent write stops us."""
        while folder != top:
            try:
                folder.rmdir()
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    return
                raise
            folder = folder.parent

    # Listing

    def _list_objects(self, bucket: str, prefix: str, after: str, limit: int) -> Listing:
        base = self._bucket_dir(bucket)
        keys: list[str] = []
        try:
            for key in self._walk(base, prefix, after):
                keys.append(key)
                if len(keys) > limit:
                    break
            objects = []
            for key in keys[:limit]:
                parts = key.split("/")
                with contextlib.suppress(FileNotFoundError):  # deleted since the walk saw it
                    info = self._info(bucket, key, parts, base.joinpath(*parts))
                    # Listings carry no content type or metadata, as in S3 (head_object has them).
                    objects.append(ObjectInfo(info.key, info.size, info.etag, info.last_modified))
        except OSError as exc:
            raise StorageError(f"cannot list bucket {bucket}: {exc}") from None
        return Listing(objects, len(keys) > limit)

    def _walk(self, base: Path, prefix: str, after: str) -> Iterator[str]:
        # Start at the deepest folder the prefix names: nothing outside it can match.
        head, _, _ = prefix.rpartition("/")
        start = head + "/" if head else ""
        if head:
            try:
                parts = _segments(head)
            except InvalidKey:
                return  # no stored key can contain such a path
            folder = base.joinpath(*parts)
        else:
            folder = base
        yield from self._walk_folder(folder, start, prefix, after)

    def _walk_folder(self, folder: Path, path: str, prefix: str, after: str) -> Iterator[str]:
        """Keys under ``folder`` (whose keys start with ``path``) in S3 order.

        Every key below subfolder ``n`` starts with ``n/`` and no sibling's key does, so sorting the
        entries by ``name`` (files) and ``name/`` (folders) yields whole keys in order. Python compares
        str by code point, which is UTF-8 byte order.
        """
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        ranked: list[tuple[str, bool]] = []
        for entry in entries:
            if entry.name.startswith(TMP_PREFIX):
                continue
            if entry.is_dir(follow_symlinks=False):
                ranked.append((path + entry.name + "/", True))
            elif entry.is_file(follow_symlinks=False):
                ranked.append((path + entry.name, False))
        ranked.sort()
        for name, is_dir in ranked:
            if is_dir:
                # Descend only where a key can match the prefix and sort after ``after``.
                if not (name.startswith(prefix) or prefix.startswith(name)):
                    continue
                if after >= name and not after.startswith(name):
                    continue
                yield from self._walk_folder(folder / name[len(path) : -1], name, prefix, after)
            elif name > after and name.startswith(prefix):
                yield name


def _sidecar_doc(
    etag: str, size: int, metadata: dict[str, str], content_type: str, sse: Encryption | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"etag": etag, "size": size, "content_type": content_type, "metadata": metadata}
    if sse is not None:
        doc["sse"] = {"mode": sse.mode, "key_id": sse.key_id} if sse.key_id else {"mode": sse.mode}
    return doc


def _content_type(side: dict[str, Any]) -> str:
    return str(side.get("content_type", DEFAULT_CONTENT_TYPE))


def _sse(side: dict[str, Any]) -> Encryption | None:
    """The server-side encryption a sidecar records; None for none (or a sidecar we cannot read)."""
    doc = side.get("sse")
    if not isinstance(doc, dict):
        return None
    mode, key_id = doc.get("mode"), doc.get("key_id")
    try:
        return Encryption(str(mode), str(key_id) if key_id is not None else None)
    except StorageError:
        return None
