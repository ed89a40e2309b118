"""The ``Storage`` seam's own checks (``storage/base.py``), which every backend shares: S3's bucket
naming rules, object keys of 1-1024 UTF-8 bytes, and the two server-side encryption modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.errors import InvalidBucketName, InvalidKey, StorageError
from opentrail.storage import SSE_KMS, SSE_S3, Encryption, LocalStorage, check_bucket_name
from opentrail.storage.base import check_key
from tests.support.storage import KMS_KEY


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket-1", "1bucket", "192.168.5.4x"])
def test_valid_bucket_names(name: str) -> None:
    check_bucket_name(name)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("ab", "3-63 characters"),
        ("a" * 64, "3-63 characters"),
        ("My-Bucket", "lowercase letters"),
        ("bucket_1", "lowercase letters"),
        ("-bucket", "starting and ending with a letter or digit"),
        ("bucket.", "starting and ending with a letter or digit"),
        ("my..bucket", "must not contain '..', '.-' or '-.'"),
        ("my.-bucket", "must not contain"),
        ("my-.bucket", "must not contain"),
        ("192.168.5.4", "must not be formatted as an IP address"),
    ],
)
def test_bucket_naming_rules(name: str, rule: str) -> None:
    with pytest.raises(InvalidBucketName, match=rule):
        check_bucket_name(name)


def test_object_keys() -> None:
    check_key("k")
    check_key("é" * 512)  # 1024 bytes of UTF-8
    for bad, message in (
        ("", "1 to 1024 bytes"),
        ("é" * 512 + "x", "1 to 1024 bytes of UTF-8, got 1025"),
        ("a\x00b", "must not contain NUL"),
        ("\ud800", "not valid Unicode"),
    ):
        with pytest.raises(InvalidKey, match=message):
            check_key(bad)


def test_the_encryption_modes() -> None:
    assert Encryption(SSE_KMS, "arn:aws:kms:us-east-1:111122223333:key/k").key_id is not None
    assert Encryption(SSE_S3).key_id is None
    with pytest.raises(StorageError, match="aws:kms needs a KMS key id"):
        Encryption(SSE_KMS)
    with pytest.raises(StorageError, match="AES256 takes no KMS key id"):
        Encryption(SSE_S3, "k")
    with pytest.raises(StorageError, match="must be 'aws:kms' or 'AES256'"):
        Encryption("aws:kms:dsse", "k")


def test_every_backend_checks_before_it_touches_anything(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(InvalidBucketName):
        storage.create_bucket("Bad_Name")
    assert not storage.bucket_exists("Bad_Name")  # a name that cannot exist does not
    assert not any(tmp_path.iterdir())
    storage.create_bucket("good-bucket")
    with pytest.raises(InvalidKey):
        storage.put_object("good-bucket", "", b"")
    # Metadata names are kept in lower case, as S3 returns them.
    storage.put_object("good-bucket", "k", b"v", {"Signature": "s"})
    assert storage.head_object("good-bucket", "k").metadata == {"signature": "s"}


def test_sse_needs_a_known_mode_and_a_kms_key() -> None:
    for bad in (("aws:kms", None), ("AES256", KMS_KEY), ("aws:kms:dsse", KMS_KEY)):
        with pytest.raises(StorageError):
            Encryption(*bad)
