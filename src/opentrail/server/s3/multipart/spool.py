"""The multipart uploads in progress, spooled to disk under ``<data dir>/uploads/``.

    <account>/<bucket>/<upload id>/upload.json          the upload's record (key, content type, metadata)
    <account>/<bucket>/<upload id>/part-00001.json      part 1's record; replacing it commits the part
    <account>/<bucket>/<upload id>/part-00001-<r>.data  part 1's bytes, named by its record
    .tmp/    parts and completed objects being written      .trash/  uploads being removed

Nothing of an upload lives in memory but each account's quota tally (the bytes its uploads hold on
disk, ``records.part_charge``), rebuilt from the records when the spool opens; so an upload survives a
restart, and a crash leaves nothing a restart does not clean (files in ``.tmp`` and ``.trash``, data
files no record names, an upload folder with no record). The folder belongs to one server process, which
holds an exclusive lock on ``.lock`` while it is open: a second process on the same data dir (nodes
sharing one) would clean away the first one's writes in flight and count quotas apart, so it serves no
multipart upload (503) instead. On several nodes, an upload lives on the node that started it
(docs/api.md, "S3 subset").

Every method blocks (disk I/O, fsync): call them on a worker thread. Writes to one upload are serialised
by a lock of its own; a part is written outside it, then renamed into place under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from opentrail.errors import S3Error, StorageError
from opentrail.server.payload import Payload
from opentrail.server.s3.multipart import completion
from opentrail.server.s3.multipart.records import (
    ID,
    UPLOAD_CHARGE,
    PartRecord,
    Upload,
    UploadRecord,
    no_such_upload,
    part_charge,
    started,
)
from opentrail.storage.files import TMP_PREFIX, fsync_dir, makedirs, write_atomic

_ACCOUNT = re.compile(r"^[0-9]{1,18}$")
_PART_RECORD = re.compile(r"^part-([0-9]{5})\.json$")
_RECORD = "upload.json"


class UploadSpool:
    """The uploads in progress under ``root``; each account holds at most ``quota`` bytes in them."""

    def __init__(self, root: Path, quota: int) -> None:
        self.root = root
        self.quota = quota
        self._guard = threading.Lock()
        self._held: dict[str, int] = {}
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}
        with _disk("open the multipart upload spool"):
            makedirs(root)
            self._owner = _own(root / ".lock")
        try:
            self._recover_all()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Let another process open the spool (a process's exit does the same). Idempotent."""
        owner, self._owner = self._owner, -1
        if owner >= 0:
            os.close(owner)

    def _recover_all(self) -> None:
        root = self.root
        with _disk("open the multipart upload spool"):
            for scratch in (root / ".tmp", root / ".trash"):
                shutil.rmtree(scratch, ignore_errors=True)
                makedirs(scratch)
            for account, folder in self._folders():
                self._recover(account, folder)

    def held(self, account: str) -> int:
        with self._guard:
            return self._held.get(account, 0)

    # -- uploads ----------------------------------------------------------------------------------------

    def start(self, account: str, bucket: str, upload_id: str, record: UploadRecord) -> Upload:
        self._reserve(account, UPLOAD_CHARGE)
        folder = self._folder(account, bucket, upload_id)
        try:
            with _disk("start a multipart upload"):
                makedirs(folder.parent)
                folder.mkdir()
                write_atomic(folder / _RECORD, msgspec.json.encode(record))
                fsync_dir(folder.parent)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            self._release(account, UPLOAD_CHARGE)
            raise
        return Upload(account, bucket, upload_id, record)

    def find(self, account: str, bucket: str, key: str, upload_id: str) -> Upload:
        """The upload ``upload_id`` of this account, bucket and key; ``NoSuchUpload`` for any other."""
        if not ID.match(upload_id):
            raise no_such_upload(upload_id)
        record = self._record(self._folder(account, bucket, upload_id))
        if record is None or record.key != key:
            raise no_such_upload(upload_id)
        return Upload(account, bucket, upload_id, record)

    def uploads(self, account: str, bucket: str) -> list[Upload]:
        """The account's uploads into ``bucket``, by key and then start time."""
        found = []
        for upload_id in self._ids(self.root / account / bucket):
            record = self._record(self.root / account / bucket / upload_id)
            if record is not None:
                found.append(Upload(account, bucket, upload_id, record))
        return sorted(found, key=lambda upload: (upload.key, upload.upload_id))

    def abort(self, upload: Upload) -> None:
        with self._locked(upload.upload_id):
            self._remove(upload.account, self._live(upload))

    def expire(self, now: float, max_age: float) -> int:
        """Abort every upload started more than ``max_age`` seconds before ``now``; how many were."""
        expired = 0
        for account, folder in self._folders():
            if started(folder.name) < now - max_age:
                with self._locked(folder.name), contextlib.suppress(S3Error):
                    self._remove(account, self._live_folder(folder))
                    expired += 1
        return expired

    def abort_bucket(self, account: str, bucket: str) -> None:
        """Abort the account's uploads into ``bucket`` (deleted: S3 discards its uploads)."""
        for upload in self.uploads(account, bucket):
            with contextlib.suppress(S3Error):
                self.abort(upload)

    # -- parts ------------------------------------------------------------------------------------------

    def put_part(self, upload: Upload, number: int, payload: Payload, now: float) -> PartRecord:
        """Store part ``number`` (replacing one sent before); the payload's bytes are moved, not copied."""
        charge = part_charge(payload.size)
        self._reserve(upload.account, charge)
        scratch = self.root / ".tmp" / uuid.uuid4().hex
        try:
            with _disk("write a multipart upload part"):
                payload.move_to(scratch)
                md5, size = _sync_and_digest(scratch)
            data = f"part-{number:05d}-{uuid.uuid4().hex}.data"
            part = PartRecord(number, size, md5, now, data)
            with self._locked(upload.upload_id):
                folder = self._live(upload)
                with _disk("write a multipart upload part"):
                    old = _read_part(folder / _part_record(number))
                    os.replace(scratch, folder / data)
                    write_atomic(folder / _part_record(number), msgspec.json.encode(part))
                if old is not None:
                    with contextlib.suppress(OSError):
                        (folder / old.data).unlink()
                    self._release(upload.account, part_charge(old.size))
        except BaseException:
            with contextlib.suppress(OSError):
                scratch.unlink()
            self._release(upload.account, charge)
            raise
        return part

    def parts(self, upload: Upload) -> list[PartRecord]:
        return sorted(
            self._parts(self._folder(upload.account, upload.bucket, upload.upload_id)),
            key=lambda part: part.number,
        )

    def complete(
        self, upload: Upload, listed: list[tuple[int, str | None]], store: Callable[[Path], object]
    ) -> str:
        """Join the listed parts into one file, hand it to ``store`` (which keeps the object), then end
        the upload; S3's multipart ETag. Should ``store`` fail, the upload stays, to be completed again."""
        with self._locked(upload.upload_id):
            folder = self._live(upload)
            chosen = completion.choose(listed, {part.number: part for part in self._parts(folder)})
            joined = self.root / ".tmp" / uuid.uuid4().hex
            try:
                with _disk("join the parts of a multipart upload"):
                    completion.concatenate(folder, chosen, joined)
                store(joined)
            finally:
                with contextlib.suppress(OSError):
                    joined.unlink()
            self._remove(upload.account, folder)
        return completion.multipart_etag(chosen)

    # -- the quota --------------------------------------------------------------------------------------

    def _reserve(self, account: str, size: int) -> None:
        with self._guard:
            held = self._held.get(account, 0)
            if held + size > self.quota:
                raise S3Error(
                    "EntityTooLarge",
                    400,
                    f"Your proposed upload exceeds the maximum allowed size: the multipart uploads in "
                    f"progress of account {account} hold {held} bytes and may hold {self.quota}; complete "
                    "or abort some (ListMultipartUploads, AbortMultipartUpload)",
                    ProposedSize=str(size),
                    MaxSizeAllowed=str(max(0, self.quota - held)),
                )
            self._held[account] = held + size

    def _release(self, account: str, size: int) -> None:
        with self._guard:
            left = self._held.get(account, 0) - size
            if left > 0:
                self._held[account] = left
            else:
                self._held.pop(account, None)

    # -- on disk ----------------------------------------------------------------------------------------

    def _folder(self, account: str, bucket: str, upload_id: str) -> Path:
        # Every segment is checked where it comes from (an account id from the store, a bucket name by
        # the router, an upload id by ``find``); this is the last line, not the first.
        if not (_ACCOUNT.match(account) and ID.match(upload_id)) or "/" in bucket or bucket.startswith("."):
            raise StorageError(f"refusing an upload path for {account!r}, {bucket!r}, {upload_id!r}")
        return self.root / account / bucket / upload_id

    def _folders(self) -> Iterator[tuple[str, Path]]:
        """(account, upload folder) for every upload on disk, records or not."""
        for account in _entries(self.root):
            if _ACCOUNT.match(account):
                for bucket in _entries(self.root / account):
                    for upload_id in self._ids(self.root / account / bucket):
                        yield account, self.root / account / bucket / upload_id

    @staticmethod
    def _ids(folder: Path) -> list[str]:
        return [name for name in _entries(folder) if ID.match(name)]

    @staticmethod
    def _record(folder: Path) -> UploadRecord | None:
        try:
            return msgspec.json.decode((folder / _RECORD).read_bytes(), type=UploadRecord)
        except (OSError, msgspec.DecodeError):
            return None

    def _live(self, upload: Upload) -> Path:
        return self._live_folder(self._folder(upload.account, upload.bucket, upload.upload_id))

    @staticmethod
    def _live_folder(folder: Path) -> Path:
        """``folder`` if its upload is still in progress (call with the upload's lock held)."""
        if not (folder / _RECORD).is_file():
            raise no_such_upload(folder.name)
        return folder

    @staticmethod
    def _parts(folder: Path) -> list[PartRecord]:
        parts = []
        for name in _entries(folder):
            if _PART_RECORD.match(name):
                part = _read_part(folder / name)
                if part is not None:
                    parts.append(part)
        return parts

    def _remove(self, account: str, folder: Path) -> None:
        """End an upload: its folder moves to the trash at once (the upload is gone), then is deleted."""
        held = UPLOAD_CHARGE + sum(part_charge(part.size) for part in self._parts(folder))
        trash = self.root / ".trash" / uuid.uuid4().hex
        with _disk("remove a multipart upload"):
            os.rename(folder, trash)
            fsync_dir(folder.parent)
        self._release(account, held)
        shutil.rmtree(trash, ignore_errors=True)

    def _recover(self, account: str, folder: Path) -> None:
        """Count an upload found on disk, dropping what a crash left half done."""
        if self._record(folder) is None:
            shutil.rmtree(folder, ignore_errors=True)  # a start that never wrote its record
            return
        named: set[str] = set()
        held = UPLOAD_CHARGE
        for part in self._parts(folder):
            try:
                whole = (folder / part.data).stat().st_size == part.size
            except OSError:
                whole = False
            if whole:
                named.add(part.data)
                held += part_charge(part.size)
            else:
                (folder / _part_record(part.number)).unlink()
        for name in _entries(folder):
            if (name.endswith(".data") and name not in named) or name.startswith(TMP_PREFIX):
                (folder / name).unlink()
        with self._guard:
            self._held[account] = self._held.get(account, 0) + held

    @contextlib.contextmanager
    def _locked(self, upload_id: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(upload_id, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[upload_id]


def _own(path: Path) -> int:
    """An open descriptor holding the exclusive lock on ``path``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StorageError(
            f"the multipart upload spool {path.parent} is in use by another server process; give each node "
            "its own data dir, or send S3 multipart uploads to one node"
        ) from None
    return fd


def _part_record(number: int) -> str:
    return f"part-{number:05d}.json"


def _read_part(path: Path) -> PartRecord | None:
    """A part's record; None when there is none, or none that reads (a torn write is no part)."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=PartRecord)
    except (OSError, msgspec.DecodeError):
        return None


def _entries(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _sync_and_digest(path: Path) -> tuple[str, int]:
    """The file's MD5 and size, read once; the file fsynced, so a part acknowledged survives a crash."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as src:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(src.fileno())
    return digest.hexdigest(), size


@contextlib.contextmanager
def _disk(what: str) -> Iterator[None]:
    """A failing disk is the bucket store's failure (503, retry), never a traceback."""
    try:
        yield
    except OSError as exc:
        raise StorageError(f"cannot {what}: {exc}") from None
