"""The local bucket store (``storage/local.py``) beyond the contract every backend passes
(``tests/contract/test_storage.py``): its layout on disk (bytes under ``<root>/<bucket>/``, a sidecar of
metadata under ``<root>/.meta/``), atomic writes, SSE-KMS objects sealed at rest, and what a reader makes
of a tree a crash or a person left behind (no sidecar, a stale or unreadable one, old bytes under a newer
sidecar, a half-written temporary file), and the limits of a file name that S3 does not have."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from opentrail.storage import SSE_KMS, SSE_S3, Encryption, InvalidKey, LocalStorage, StorageError
from opentrail.storage.encryption import MasterKey
from tests.support.storage import KMS_KEY, MASTER, SIGNED


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_local_layout_and_sidecar(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("trail-logs")
    storage.put_object("trail-logs", "x/y.json.gz", b"data", SIGNED, content_type="application/json")
    assert (tmp_path / "trail-logs" / "x" / "y.json.gz").read_bytes() == b"data"
    sidecar = json.loads((tmp_path / ".meta" / "trail-logs" / "x" / "y.json.gz").read_text())
    assert sidecar["metadata"] == SIGNED
    assert storage.list_buckets() == ["trail-logs"]
    storage.delete_object("trail-logs", "x/y.json.gz")
    # Empty folders go with the object, in both trees.
    assert list((tmp_path / "trail-logs").iterdir()) == []
    assert list((tmp_path / ".meta" / "trail-logs").iterdir()) == []


def test_local_object_without_sidecar(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("trail-logs")
    (tmp_path / "trail-logs" / "copied-in").write_bytes(b"by hand")
    head = storage.head_object("trail-logs", "copied-in")
    assert head.etag == hashlib.md5(b"by hand", usedforsecurity=False).hexdigest()
    assert (head.content_type, head.metadata) == ("application/octet-stream", {})


def test_local_recovers_from_a_crash_between_data_and_sidecar_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("trail-logs")
    storage.put_object("trail-logs", "a", b"x", SIGNED)
    storage.put_object("trail-logs", "d/e", b"x", SIGNED)
    # What a crash after unlinking the bytes leaves: the sidecars alone.
    (tmp_path / "trail-logs" / "a").unlink()
    (tmp_path / "trail-logs" / "d" / "e").unlink()
    (tmp_path / "trail-logs" / "d").rmdir()
    storage.put_object("trail-logs", "a/b", b"new")
    storage.put_object("trail-logs", "d", b"new")
    assert storage.head_object("trail-logs", "a/b").metadata == {}
    assert storage.head_object("trail-logs", "d").metadata == {}


def test_local_writes_are_atomic(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("trail-logs")
    size = 8 << 20
    versions = {fill: bytes([fill]) * size for fill in b"ab"}
    storage.put_object("trail-logs", "big", versions[ord("a")], {"fill": "a"})
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(12):
                fill = b"ab"[i % 2]
                storage.put_object("trail-logs", "big", versions[fill], {"fill": chr(fill)})
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            stop.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not stop.is_set() or reads == 0:
        info, data = storage.get_object("trail-logs", "big")
        reads += 1
        assert len(data) == size
        assert data in versions.values()
        assert info.metadata == {"fill": chr(data[0])}
        assert info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    thread.join()
    assert not errors
    assert reads > 1
    assert [p.name for p in (tmp_path / "trail-logs").iterdir()] == ["big"]  # no temp files left


def test_local_kms_objects_are_encrypted_at_rest(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, MASTER)
    storage.create_bucket("trail-logs")
    data = b"plaintext records " * 20
    storage.put_object("trail-logs", "a/b", data, sse=Encryption(SSE_KMS, KMS_KEY))
    stored = (tmp_path / "trail-logs" / "a" / "b").read_bytes()
    assert b"plaintext" not in stored
    assert len(stored) > len(data)
    sidecar = json.loads((tmp_path / ".meta" / "trail-logs" / "a" / "b").read_bytes())
    assert sidecar["sse"] == {"mode": SSE_KMS, "key_id": KMS_KEY}
    assert (sidecar["size"], sidecar["stored_size"]) == (len(data), len(stored))
    assert sidecar["etag"] == hashlib.md5(data, usedforsecurity=False).hexdigest()
    # SSE-S3 is recorded; the bytes stay as they are (as do unencrypted objects').
    storage.put_object("trail-logs", "a/c", data, sse=Encryption(SSE_S3))
    assert (tmp_path / "trail-logs" / "a" / "c").read_bytes() == data
    # Without the master key, or with another one, the object does not open.
    with pytest.raises(StorageError, match="master key"):
        LocalStorage(tmp_path).get_object("trail-logs", "a/b")
    with pytest.raises(StorageError, match="failed authentication"):
        LocalStorage(tmp_path, MasterKey(bytes(32))).get_object("trail-logs", "a/b")
    # Sealed bytes moved to another key do not open there.
    storage.put_object("trail-logs", "a/d", b"other", sse=Encryption(SSE_KMS, KMS_KEY))
    (tmp_path / "trail-logs" / "a" / "d").write_bytes(stored)
    with pytest.raises(StorageError, match="failed authentication"):
        storage.get_object("trail-logs", "a/d")


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path, MASTER)
    storage.create_bucket("trail-logs")
    return storage


def test_a_key_segment_is_at_most_a_file_name_long(storage: LocalStorage) -> None:
    """A segment is a file name: 255 bytes at most (of UTF-8, as the filesystem counts them)."""
    longest = "a/" + "x" * 255
    storage.put_object("trail-logs", longest, b"fits")
    assert storage.get_object("trail-logs", longest)[1] == b"fits"
    for key in ("a/" + "x" * 256, "\u00e9" * 128 + "/b"):  # 256 bytes, once as 128 two-byte characters
        with pytest.raises(InvalidKey, match="has a segment of 256 bytes; the local bucket store allows"):
            storage.put_object("trail-logs", key, b"x")


def test_buckets_are_the_folders_at_the_root(storage: LocalStorage, tmp_path: Path) -> None:
    (tmp_path / "a-file-at-the-root").write_bytes(b"not a bucket")
    storage.put_object("trail-logs", "k", b"v", SIGNED)  # creates .meta, which is no bucket either
    storage.create_bucket("another")
    assert storage.list_buckets() == ["another", "trail-logs"]


def test_a_write_a_crash_left_half_done_is_no_object(storage: LocalStorage, tmp_path: Path) -> None:
    """What a crash mid-write leaves is a temporary file beside the object: never listed, never read."""
    storage.put_object("trail-logs", "logs/kept", b"kept")
    (tmp_path / "trail-logs" / "logs" / ".opentrail-tmp-k2x9").write_bytes(b"half written")
    assert [o.key for o in storage.list_objects("trail-logs").objects] == ["logs/kept"]
    assert [o.key for o in storage.list_objects("trail-logs", prefix="logs/.").objects] == []
    with pytest.raises(InvalidKey, match="reserves for writes in progress"):
        storage.get_object("trail-logs", "logs/.opentrail-tmp-k2x9")


def test_old_bytes_under_a_newer_sidecar_are_described_by_themselves(
    storage: LocalStorage, tmp_path: Path
) -> None:
    """An overwrite a crash interrupted between the sidecar and the data: readers get the bytes that
    are there, with their own size and ETag, never the sidecar's."""
    storage.put_object("trail-logs", "k", b"the newer, longer object", SIGNED, "application/json")
    (tmp_path / "trail-logs" / "k").write_bytes(b"older")
    head = storage.head_object("trail-logs", "k")
    info, data = storage.get_object("trail-logs", "k")
    assert data == b"older"
    for seen in (head, info):
        assert (seen.size, seen.etag) == (5, md5(b"older"))
    assert [(o.size, o.etag) for o in storage.list_objects("trail-logs").objects] == [(5, md5(b"older"))]


def test_plain_bytes_under_a_newer_kms_sidecar_read_as_plain(storage: LocalStorage, tmp_path: Path) -> None:
    """The same interruption when the newer write is SSE-KMS: the plain bytes are no sealed object, so
    they are read as they are and reported unencrypted."""
    storage.put_object("trail-logs", "k", b"sealed newer bytes", sse=Encryption(SSE_KMS, KMS_KEY))
    (tmp_path / "trail-logs" / "k").write_bytes(b"plain older bytes")
    info, data = storage.get_object("trail-logs", "k")
    assert (data, info.sse, info.size, info.etag) == (
        b"plain older bytes",
        None,
        17,
        md5(b"plain older bytes"),
    )
    head = storage.head_object("trail-logs", "k")
    assert (head.sse, head.size, head.etag) == (None, 17, md5(b"plain older bytes"))


@pytest.mark.parametrize("sidecar", [b"{not json", b"[1, 2]", b'{"metadata": "not a map"}', b""])
def test_an_unreadable_sidecar_is_no_sidecar(storage: LocalStorage, tmp_path: Path, sidecar: bytes) -> None:
    storage.put_object("trail-logs", "k", b"bytes", SIGNED, "application/json")
    (tmp_path / ".meta" / "trail-logs" / "k").write_bytes(sidecar)
    for seen in (storage.head_object("trail-logs", "k"), storage.get_object("trail-logs", "k")[0]):
        assert (seen.etag, seen.content_type, seen.metadata, seen.sse) == (
            md5(b"bytes"),
            "application/octet-stream",
            {},
            None,
        )


def test_an_unknown_encryption_in_a_sidecar_reads_as_none(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put_object("trail-logs", "k", b"bytes", sse=Encryption(SSE_S3))
    path = tmp_path / ".meta" / "trail-logs" / "k"
    doc = json.loads(path.read_bytes())
    path.write_text(json.dumps({**doc, "sse": {"mode": "aws:kms:dsse"}}))
    assert storage.head_object("trail-logs", "k").sse is None
    assert storage.get_object("trail-logs", "k") == (storage.head_object("trail-logs", "k"), b"bytes")


def test_a_delete_keeps_folders_that_still_hold_objects(storage: LocalStorage, tmp_path: Path) -> None:
    storage.put_object("trail-logs", "a/b/c", b"1", SIGNED)
    storage.put_object("trail-logs", "a/d", b"2", SIGNED)
    storage.delete_object("trail-logs", "a/b/c")
    for tree in (tmp_path / "trail-logs", tmp_path / ".meta" / "trail-logs"):
        assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == ["a", "a/d"]


def test_put_object_file_stores_the_files_bytes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("trail-logs")
    spool = tmp_path / "spool"
    spool.write_bytes(b"spooled upload")
    info = storage.put_object_file("trail-logs", "from/file", spool, {"A": "1"}, "text/plain")
    assert info.etag == md5(b"spooled upload")
    stored, data = storage.get_object("trail-logs", "from/file")
    assert (data, stored.metadata, stored.content_type) == (b"spooled upload", {"a": "1"}, "text/plain")


def test_put_object_file_links_the_file_into_the_bucket(tmp_path: Path) -> None:
    """On one filesystem the spool file becomes the object without a copy; removing the spool file
    afterwards (the caller's job) leaves the object whole."""
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("uploads")
    spool = tmp_path / "body-1"
    spool.write_bytes(b"x" * 300_000)
    info = storage.put_object_file("uploads", "big", spool, sse=Encryption(SSE_S3))
    target = tmp_path / "buckets" / "uploads" / "big"
    assert target.stat().st_ino == spool.stat().st_ino
    spool.unlink()
    assert (info.size, info.etag, info.sse) == (300_000, md5(b"x" * 300_000), Encryption(SSE_S3))
    stored, data = storage.get_object("uploads", "big")
    assert (data, stored.sse) == (b"x" * 300_000, Encryption(SSE_S3))
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".opentrail-tmp-")]


def test_put_object_file_copies_where_it_cannot_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another filesystem (a bucket store outside the data dir): a copy, a piece at a time."""

    def cross_device(source: object, target: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("uploads")
    spool = tmp_path / "body-2"
    spool.write_bytes(b"copied upload")
    monkeypatch.setattr(os, "link", cross_device)
    storage.put_object_file("uploads", "copied", spool)
    target = tmp_path / "buckets" / "uploads" / "copied"
    assert target.stat().st_ino != spool.stat().st_ino
    assert storage.get_object("uploads", "copied")[1] == b"copied upload"


def test_put_object_file_seals_kms_objects(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "buckets", MASTER)
    storage.create_bucket("uploads")
    spool = tmp_path / "body-3"
    spool.write_bytes(b"plaintext upload")
    storage.put_object_file("uploads", "sealed", spool, sse=Encryption(SSE_KMS, KMS_KEY))
    assert b"plaintext" not in (tmp_path / "buckets" / "uploads" / "sealed").read_bytes()
    assert spool.read_bytes() == b"plaintext upload"  # the spool file is the caller's, untouched
    assert storage.get_object("uploads", "sealed")[1] == b"plaintext upload"


def test_put_object_file_of_a_missing_file_is_a_storage_error(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("uploads")
    with pytest.raises(StorageError, match="cannot read the upload"):
        storage.put_object_file("uploads", "k", tmp_path / "gone")
