"""The spool of multipart uploads in progress (``server/s3/multipart/spool.py``): uploads and parts as
folders and files under the data dir, each account's quota counted in whole disk blocks and rebuilt when
the spool opens again, what a crash leaves cleaned at the next open, and uploads older than the expiry
aborted with their parts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.errors import S3Error, StorageError
from opentrail.server.payload import Payload
from opentrail.server.s3.multipart.records import BLOCK, UPLOAD_CHARGE, UploadRecord, new_upload_id
from opentrail.server.s3.multipart.spool import UploadSpool

ACCOUNT, OTHER = "111122223333", "444455556666"
BUCKET = "uploads"
START = 1_704_067_200.0
DAY = 86400.0


def record(key: str = "big") -> UploadRecord:
    return UploadRecord(key, "binary/octet-stream", {"signature": "ab12"}, f"arn:aws:iam::{ACCOUNT}:root")


def start(spool: UploadSpool, account: str = ACCOUNT, at: float = START, key: str = "big", n: int = 0) -> str:
    upload_id = new_upload_id(at, f"{n:020x}")
    spool.start(account, BUCKET, upload_id, record(key))
    return upload_id


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def spool(root: Path) -> Iterator[UploadSpool]:
    spool = UploadSpool(root, quota=1024 * 1024)
    yield spool
    spool.close()


def test_the_quota_counts_whole_blocks_and_each_record(spool: UploadSpool) -> None:
    upload = spool.find(ACCOUNT, BUCKET, "big", start(spool))
    assert spool.held(ACCOUNT) == UPLOAD_CHARGE
    spool.put_part(upload, 1, Payload(b"x"), START)
    assert spool.held(ACCOUNT) == UPLOAD_CHARGE + 2 * BLOCK
    spool.put_part(upload, 1, Payload(b"y" * (BLOCK + 1)), START)  # replaces part 1
    assert spool.held(ACCOUNT) == UPLOAD_CHARGE + 3 * BLOCK
    assert spool.held(OTHER) == 0


def test_a_flood_of_tiny_parts_meets_the_quota(root: Path) -> None:
    spool = UploadSpool(root, quota=UPLOAD_CHARGE + 10 * 2 * BLOCK)
    upload = spool.find(ACCOUNT, BUCKET, "big", start(spool))
    for number in range(1, 11):
        spool.put_part(upload, number, Payload(b"x"), START)
    with pytest.raises(S3Error) as caught:
        spool.put_part(upload, 11, Payload(b"x"), START)
    assert caught.value.s3_code == "EntityTooLarge"
    assert caught.value.fields == {"ProposedSize": str(2 * BLOCK), "MaxSizeAllowed": "0"}
    # Nothing of the refused part is left, on disk or in the tally.
    assert len(list((root / ".tmp").iterdir())) == 0
    assert [p.number for p in spool.parts(upload)] == list(range(1, 11))
    spool.close()


def test_a_restart_finds_the_uploads_and_their_quota(root: Path, spool: UploadSpool) -> None:
    upload = spool.find(ACCOUNT, BUCKET, "big", start(spool))
    spool.put_part(upload, 2, Payload(b"two"), START)
    spool.put_part(upload, 1, Payload(b"one"), START + 1)
    held = spool.held(ACCOUNT)
    spool.close()
    reopened = UploadSpool(root, quota=1024 * 1024)
    assert reopened.held(ACCOUNT) == held
    again = reopened.find(ACCOUNT, BUCKET, "big", upload.upload_id)
    assert again.record == record()
    assert [(p.number, p.size, p.modified) for p in reopened.parts(again)] == [
        (1, 3, START + 1),
        (2, 3, START),
    ]


def test_what_a_crash_leaves_is_cleaned_when_the_spool_opens(root: Path, spool: UploadSpool) -> None:
    upload = spool.find(ACCOUNT, BUCKET, "big", start(spool))
    spool.put_part(upload, 1, Payload(b"kept"), START)
    spool.put_part(upload, 2, Payload(b"lost"), START)
    folder = root / ACCOUNT / BUCKET / upload.upload_id
    # A part written but never recorded, a record whose data went missing, writes in flight, and an
    # upload whose start never wrote its record.
    (folder / "part-00003-abc.data").write_bytes(b"orphan")
    next(p for p in folder.iterdir() if p.name.startswith("part-00002-")).unlink()
    (root / ".tmp" / "half-a-part").write_bytes(b"half")
    (root / ".trash" / "half-removed").mkdir()
    unstarted = root / ACCOUNT / BUCKET / new_upload_id(START, "f" * 20)
    unstarted.mkdir()
    spool.close()
    reopened = UploadSpool(root, quota=1024 * 1024)
    assert [p.number for p in reopened.parts(upload)] == [1]
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".data")) == [
        reopened.parts(upload)[0].data
    ]
    assert list((root / ".tmp").iterdir()) == list((root / ".trash").iterdir()) == []
    assert not unstarted.exists()
    assert reopened.held(ACCOUNT) == UPLOAD_CHARGE + 2 * BLOCK
    reopened.close()


def test_uploads_older_than_the_expiry_are_aborted(root: Path, spool: UploadSpool) -> None:
    old = spool.find(ACCOUNT, BUCKET, "big", start(spool, at=START))
    spool.put_part(old, 1, Payload(b"abandoned"), START)
    young = start(spool, account=OTHER, at=START + 2 * DAY)
    assert spool.expire(START + 3 * DAY, max_age=3 * DAY) == 0  # not older than the expiry yet
    assert spool.expire(START + 3 * DAY + 1, max_age=3 * DAY) == 1
    with pytest.raises(S3Error, match="The specified upload does not exist"):
        spool.find(ACCOUNT, BUCKET, "big", old.upload_id)
    assert not (root / ACCOUNT / BUCKET / old.upload_id).exists()
    assert spool.held(ACCOUNT) == 0
    assert spool.find(OTHER, BUCKET, "big", young).upload_id == young


def test_uploads_are_listed_by_key_then_start(spool: UploadSpool) -> None:
    ids = [
        start(spool, key="b", at=START, n=1),
        start(spool, key="a", at=START + 5, n=2),
        start(spool, key="a", at=START + 1, n=3),
    ]
    start(spool, account=OTHER, key="a", n=4)
    listed = spool.uploads(ACCOUNT, BUCKET)
    assert [(u.key, u.upload_id) for u in listed] == [("a", ids[2]), ("a", ids[1]), ("b", ids[0])]
    assert [u.initiated for u in listed] == [START + 1, START + 5, START]


def test_a_deleted_buckets_uploads_go(spool: UploadSpool) -> None:
    start(spool, n=1)
    start(spool, key="other", n=2)
    kept = start(spool, account=OTHER, n=3)
    spool.abort_bucket(ACCOUNT, BUCKET)
    assert spool.uploads(ACCOUNT, BUCKET) == []
    assert spool.held(ACCOUNT) == 0
    assert [u.upload_id for u in spool.uploads(OTHER, BUCKET)] == [kept]


def test_a_path_no_upload_can_have_is_refused(spool: UploadSpool) -> None:
    for account, bucket in (("../x", BUCKET), (ACCOUNT, "../x"), (ACCOUNT, ".tmp")):
        with pytest.raises(StorageError, match="refusing an upload path"):
            spool.start(account, bucket, new_upload_id(START, "0" * 20), record())
    for upload_id in ("", "../../etc", "A" * 32, "0" * 33):
        with pytest.raises(S3Error, match="The specified upload does not exist"):
            spool.find(ACCOUNT, BUCKET, "big", upload_id)


def test_a_failing_disk_is_a_storage_error(root: Path, spool: UploadSpool) -> None:
    upload = spool.find(ACCOUNT, BUCKET, "big", start(spool))
    (root / ".tmp").rmdir()
    (root / ".tmp").write_bytes(b"not a folder")
    with pytest.raises(StorageError, match="cannot write a multipart upload part"):
        spool.put_part(upload, 1, Payload(b"x"), START)
    assert spool.held(ACCOUNT) == UPLOAD_CHARGE
