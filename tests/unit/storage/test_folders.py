"""Buckets as folders of the local bucket store (``storage/folders.py``): the creation time recorded beside
each bucket (and what a bucket made by hand, with no record, reports), and deleting a bucket only while
it holds nothing, not even a write under way, without leaving its sidecars to a bucket made again under
the same name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opentrail.errors import BucketNotEmpty, NoSuchBucket
from opentrail.storage import LocalStorage
from opentrail.storage.files import TMP_PREFIX
from tests.support.storage import SIGNED


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path)


def test_a_buckets_creation_is_recorded_beside_it(storage: LocalStorage, tmp_path: Path) -> None:
    storage.create_bucket("trail-logs")
    made = (tmp_path / "trail-logs").stat().st_mtime
    assert json.loads((tmp_path / ".buckets" / "trail-logs").read_text()) == {"created": made}
    # The folder's own time moves with every object; the recorded one does not.
    storage.put_object("trail-logs", "k", b"x")
    os.utime(tmp_path / "trail-logs", (made + 3600, made + 3600))
    assert [(b.name, b.created) for b in storage.describe_buckets()] == [("trail-logs", made)]
    assert storage.list_buckets() == ["trail-logs"]  # the record is no bucket


def test_a_bucket_made_by_hand_keeps_the_time_it_was_first_listed_with(
    storage: LocalStorage, tmp_path: Path
) -> None:
    (tmp_path / "by-hand").mkdir()
    os.utime(tmp_path / "by-hand", (1_600_000_000, 1_600_000_000))
    assert [b.created for b in storage.describe_buckets()] == [1_600_000_000]
    os.utime(tmp_path / "by-hand", (1_700_000_000, 1_700_000_000))
    assert [b.created for b in storage.describe_buckets()] == [1_600_000_000]


@pytest.mark.parametrize("record", [b"", b"not json", b'{"created": "yesterday"}', b"[]"])
def test_an_unreadable_record_is_no_record(storage: LocalStorage, tmp_path: Path, record: bytes) -> None:
    storage.create_bucket("trail-logs")
    (tmp_path / ".buckets" / "trail-logs").write_bytes(record)
    os.utime(tmp_path / "trail-logs", (1_600_000_000, 1_600_000_000))
    assert [b.created for b in storage.describe_buckets()] == [1_600_000_000]


def test_a_write_under_way_keeps_the_bucket(storage: LocalStorage, tmp_path: Path) -> None:
    storage.create_bucket("trail-logs")
    (tmp_path / "trail-logs" / "a" / "b").mkdir(parents=True)
    (tmp_path / "trail-logs" / "a" / "b" / f"{TMP_PREFIX}x").write_bytes(b"half")
    with pytest.raises(BucketNotEmpty, match="trail-logs"):
        storage.delete_bucket("trail-logs")
    assert storage.bucket_exists("trail-logs")


def test_folders_deleted_objects_left_do_not_keep_the_bucket(storage: LocalStorage, tmp_path: Path) -> None:
    storage.create_bucket("trail-logs")
    (tmp_path / "trail-logs" / "empty" / "folders").mkdir(parents=True)
    storage.delete_bucket("trail-logs")
    assert not (tmp_path / "trail-logs").exists()
    assert not (tmp_path / ".buckets" / "trail-logs").exists()
    with pytest.raises(NoSuchBucket):
        storage.delete_bucket("trail-logs")


def test_a_bucket_made_again_has_none_of_the_old_sidecars(storage: LocalStorage, tmp_path: Path) -> None:
    storage.create_bucket("trail-logs")
    storage.put_object("trail-logs", "k", b"x", SIGNED)
    storage.delete_object("trail-logs", "k")
    # A sidecar a crashed delete left behind.
    (tmp_path / ".meta" / "trail-logs").mkdir(parents=True, exist_ok=True)
    (tmp_path / ".meta" / "trail-logs" / "k").write_text(json.dumps({"size": 1, "metadata": SIGNED}))
    storage.delete_bucket("trail-logs")
    assert list((tmp_path / ".meta").iterdir()) == []
    storage.create_bucket("trail-logs")
    (tmp_path / "trail-logs" / "k").write_bytes(b"y")  # copied in by hand: no sidecar of its own
    assert storage.head_object("trail-logs", "k").metadata == {}
