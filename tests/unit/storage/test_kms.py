"""SSE-KMS for the local bucket store (``storage/kms.py``): object bytes sealed under a KMS key ARN open
with that ARN, at that bucket and key, under that master key, and with nothing else -- every other
case is ``SealFailed``."""

from __future__ import annotations

import os

import pytest

from opentrail.errors import SealFailed
from opentrail.storage.encryption import KEY_BYTES, MasterKey
from opentrail.storage.kms import MAGIC, ObjectSealer

ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DATA = b'{"Records": []}' * 20


@pytest.fixture
def master() -> MasterKey:
    return MasterKey(os.urandom(KEY_BYTES))


def test_a_round_trip(master: MasterKey) -> None:
    sealer = ObjectSealer(master)
    sealed = sealer.seal(ARN, "bucket-1", "AWSLogs/f.json.gz", DATA)
    assert sealed.startswith(MAGIC)
    assert DATA not in sealed
    assert sealer.open(ARN, "bucket-1", "AWSLogs/f.json.gz", sealed) == DATA
    # Another sealer over the same master key (a restart) opens it too.
    assert ObjectSealer(master).open(ARN, "bucket-1", "AWSLogs/f.json.gz", sealed) == DATA
    assert ObjectSealer(master).master_key_id == master.key_id


def test_sealing_twice_differs(master: MasterKey) -> None:
    sealer = ObjectSealer(master)
    assert sealer.seal(ARN, "b1b", "k", DATA) != sealer.seal(ARN, "b1b", "k", DATA)


def test_tampered_bytes_fail(master: MasterKey) -> None:
    sealer = ObjectSealer(master)
    sealed = bytearray(sealer.seal(ARN, "bucket-1", "k", DATA))
    sealed[-1] ^= 1
    with pytest.raises(SealFailed, match="failed authentication under KMS key"):
        sealer.open(ARN, "bucket-1", "k", bytes(sealed))
    with pytest.raises(SealFailed):
        sealer.open(ARN, "bucket-1", "k", MAGIC + b"short")


@pytest.mark.parametrize(
    ("arn", "bucket", "key"),
    [
        (ARN.replace("1234abcd", "9999abcd"), "bucket-1", "k"),  # another KMS key
        (ARN, "bucket-2", "k"),  # moved to another bucket
        (ARN, "bucket-1", "k2"),  # moved to another key
    ],
)
def test_another_key_or_place_fails(master: MasterKey, arn: str, bucket: str, key: str) -> None:
    sealer = ObjectSealer(master)
    sealed = sealer.seal(ARN, "bucket-1", "k", DATA)
    with pytest.raises(SealFailed):
        sealer.open(arn, bucket, key, sealed)


def test_another_master_key_fails(master: MasterKey) -> None:
    sealed = ObjectSealer(master).seal(ARN, "bucket-1", "k", DATA)
    with pytest.raises(SealFailed, match=r"master\.key is not the one that sealed it"):
        ObjectSealer(MasterKey(os.urandom(KEY_BYTES))).open(ARN, "bucket-1", "k", sealed)


def test_bytes_never_sealed_are_refused(master: MasterKey) -> None:
    with pytest.raises(SealFailed, match="object 'k' in bucket bucket-1 is not sealed"):
        ObjectSealer(master).open(ARN, "bucket-1", "k", DATA)


def test_the_bucket_and_key_cannot_be_shifted_between_each_other(master: MasterKey) -> None:
    """The associated data separates bucket from key, so ("ab", "c") and ("a", "bc") differ."""
    sealer = ObjectSealer(master)
    sealed = sealer.seal(ARN, "abc-bucket", "key", DATA)
    with pytest.raises(SealFailed):
        sealer.open(ARN, "abc", "-bucketkey", sealed)
