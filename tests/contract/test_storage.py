"""One contract for every ``Storage`` backend: the local bucket store and S3 (moto's server on loopback).

Backend-specific facts are asserted where the contract lets backends differ: the local store refuses keys
that cannot be paths (``InvalidKey``) where S3 stores them as plain names. What one backend does alone
is tested beside it: ``tests/unit/storage/test_local.py`` and ``test_s3.py``.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opentrail.errors import ConfigError
from opentrail.storage import (
    SSE_KMS,
    SSE_S3,
    BucketExists,
    BucketNotEmpty,
    Encryption,
    InvalidBucketName,
    InvalidKey,
    LocalStorage,
    NoSuchBucket,
    NoSuchKey,
    Storage,
    open_storage,
)
from opentrail.storage.s3 import S3Storage
from tests.support.storage import KMS_KEY, MASTER, SIGNED, reset_moto, s3_storage

# Keys whose S3 order differs from a per-folder walk, from UTF-16 order, or from locale order:
# ' ' '#' '+' '-' '.' sort before '/', '0' and '~' after it; U+FF5E sorts before U+1F600 in UTF-8
# but after it in UTF-16.
TRICKY_KEYS = [
    "a/b",
    "a/b0",
    "a/b-c",
    "a/b.c/d",
    "a/c/d",
    "a/\u00e9",
    "a-b",
    "a.b",
    "a0",
    "a b",
    "a#b",
    "a+b",
    "a~",
    "ab",
    "A",
    "z",
    "\u00e9",
    "\u65e5\u672c/\u8a9e",
    "\uff5e",
    "\U0001f600",
    ".hidden",
]
# Keys a filesystem path cannot hold; the local store refuses them, S3 stores them as names.
UNSAFE_KEYS = ["/a", "a//b", "a/./b", "a/../b", "..", ".", "a/", "../../outside", "x/.opentrail-tmp-1"]


def s3_order(keys: list[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode())


@pytest.fixture(scope="module")
def s3_backend(moto_endpoint: str) -> S3Storage:
    # One client for the module: building a boto3 session costs more than most tests here.
    return s3_storage(moto_endpoint)


@pytest.fixture
def s3(s3_backend: S3Storage, moto_endpoint: str) -> S3Storage:
    reset_moto(moto_endpoint)
    return s3_backend


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A scratch folder on tmpfs when there is one.

    fsync on a busy CI disk costs milliseconds per write, and this suite checks behaviour, not
    durability (the crash tests do); the atomicity test below stays on the real disk.
    """
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="opentrail-test-") as scratch:
        yield Path(scratch)


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, fast_dir: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(fast_dir / "buckets", MASTER)
    backend: S3Storage = request.getfixturevalue("s3")
    return backend


@pytest.fixture
def bucket(storage: Storage) -> str:
    storage.create_bucket("trail-logs")
    return "trail-logs"


def put_many(storage: Storage, bucket: str, keys: list[str]) -> None:
    # moto serves one request in ~10 ms; threads overlap the client side so 2,500 keys stay fast.
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: storage.put_object(bucket, key, key.encode()), keys))


def raw_put(url: str) -> None:
    request = urllib.request.Request(url, data=url.encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=30):
        pass


# Buckets


def test_create_bucket_then_it_exists_and_is_listed(storage: Storage) -> None:
    assert not storage.bucket_exists("trail-logs")
    storage.create_bucket("trail-logs")
    storage.create_bucket("digests.example-1")
    assert storage.bucket_exists("trail-logs")
    assert storage.list_buckets() == ["digests.example-1", "trail-logs"]


def test_buckets_are_described_with_their_creation_time(storage: Storage) -> None:
    before = time.time()
    storage.create_bucket("trail-logs")
    storage.create_bucket("digests.example-1")
    described = storage.describe_buckets()
    assert [b.name for b in described] == ["digests.example-1", "trail-logs"]
    for bucket in described:
        # Whole seconds on some services, the filesystem's clock on others: a second of slack.
        assert before - 1 <= bucket.created <= time.time() + 1
    # A creation time does not move as the bucket fills.
    storage.put_object("trail-logs", "k", b"x")
    assert storage.describe_buckets() == described


def test_an_empty_bucket_is_deleted_and_its_name_is_free(storage: Storage) -> None:
    storage.create_bucket("trail-logs")
    storage.put_object("trail-logs", "a/b/c", b"x")
    storage.delete_object("trail-logs", "a/b/c")
    storage.delete_bucket("trail-logs")
    assert not storage.bucket_exists("trail-logs")
    assert storage.list_buckets() == []
    with pytest.raises(NoSuchBucket, match="trail-logs"):
        storage.delete_bucket("trail-logs")
    storage.create_bucket("trail-logs")
    assert storage.list_objects("trail-logs").objects == []


def test_a_bucket_holding_an_object_is_not_deleted(storage: Storage) -> None:
    storage.create_bucket("trail-logs")
    storage.put_object("trail-logs", "deep/in/the/bucket", b"x", SIGNED)
    with pytest.raises(BucketNotEmpty, match="trail-logs"):
        storage.delete_bucket("trail-logs")
    info, data = storage.get_object("trail-logs", "deep/in/the/bucket")
    assert (data, info.metadata) == (b"x", SIGNED)


def test_duplicate_bucket_is_refused(storage: Storage) -> None:
    storage.create_bucket("trail-logs")
    with pytest.raises(BucketExists, match="trail-logs"):
        storage.create_bucket("trail-logs")


@pytest.mark.parametrize(
    "name", ["ab", "Upper-case", "-dash", "dash-", "a..b", "a.-b", "192.168.1.1", ".meta", "a_b", "x" * 64]
)
def test_invalid_bucket_names_are_refused(storage: Storage, name: str) -> None:
    with pytest.raises(InvalidBucketName, match="bucket name"):
        storage.create_bucket(name)
    assert not storage.bucket_exists(name)
    with pytest.raises(InvalidBucketName):
        storage.put_object(name, "k", b"x")


# Objects


def test_put_get_head_round_trip(storage: Storage, bucket: str) -> None:
    data = bytes(range(256)) * 64
    put = storage.put_object(bucket, "logs/f.json.gz", data, SIGNED, content_type="application/json")
    info, got = storage.get_object(bucket, "logs/f.json.gz")
    head = storage.head_object(bucket, "logs/f.json.gz")
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert got == data
    for seen in (put, info, head):
        assert (seen.key, seen.size, seen.etag) == ("logs/f.json.gz", len(data), md5)
        assert seen.content_type == "application/json"
        assert seen.metadata == SIGNED
    assert head.last_modified == pytest.approx(info.last_modified, abs=2)


def test_metadata_names_are_lower_cased(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "k", b"x", {"Signature": "ab12"})
    assert storage.head_object(bucket, "k").metadata == {"signature": "ab12"}


def test_empty_object_has_default_content_type(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "empty", b"")
    info, data = storage.get_object(bucket, "empty")
    assert data == b""
    assert info.size == 0
    assert info.etag == hashlib.md5(b"", usedforsecurity=False).hexdigest()
    assert info.content_type == "application/octet-stream"
    assert info.metadata == {}


def test_overwrite_replaces_bytes_and_metadata(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "k", b"old", SIGNED, content_type="text/plain")
    storage.put_object(bucket, "k", b"new!", {"other": "1"})
    info, data = storage.get_object(bucket, "k")
    assert data == b"new!"
    assert info.metadata == {"other": "1"}
    assert info.content_type == "application/octet-stream"
    assert [o.key for o in storage.list_objects(bucket).objects] == ["k"]


def test_missing_key(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "a/b", b"x")
    for key in ("nope", "a", "a/b/c", "a/bb"):
        with pytest.raises(NoSuchKey, match="does not exist"):
            storage.get_object(bucket, key)
        with pytest.raises(NoSuchKey):
            storage.head_object(bucket, key)
    storage.delete_object(bucket, "nope")  # as in S3: deleting a missing key succeeds


def test_missing_bucket(storage: Storage) -> None:
    with pytest.raises(NoSuchBucket, match="no-such-bucket"):
        storage.put_object("no-such-bucket", "k", b"x")
    with pytest.raises(NoSuchBucket):
        storage.get_object("no-such-bucket", "k")
    with pytest.raises(NoSuchBucket):
        storage.head_object("no-such-bucket", "k")
    with pytest.raises(NoSuchBucket):
        storage.list_objects("no-such-bucket")
    with pytest.raises(NoSuchBucket):
        storage.delete_object("no-such-bucket", "k")


def test_delete(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "x/y/z", b"1", SIGNED)
    storage.put_object(bucket, "x/w", b"2")
    storage.delete_object(bucket, "x/y/z")
    with pytest.raises(NoSuchKey):
        storage.head_object(bucket, "x/y/z")
    assert [o.key for o in storage.list_objects(bucket).objects] == ["x/w"]
    # A later object at the deleted one's folder path must not inherit its metadata or be blocked by it.
    storage.put_object(bucket, "x/y", b"3")
    assert storage.head_object(bucket, "x/y").metadata == {}


def test_bad_keys_refused_by_every_backend(storage: Storage, bucket: str) -> None:
    for key in ("", "k\x00", "k" * 1025, "\ud800"):
        with pytest.raises(InvalidKey):
            storage.put_object(bucket, key, b"x")
    with pytest.raises(InvalidKey):
        storage.list_objects(bucket, prefix="\ud800")


# Listing


def test_listing_is_in_s3_byte_order(storage: Storage, bucket: str) -> None:
    put_many(storage, bucket, TRICKY_KEYS)
    listing = storage.list_objects(bucket)
    assert [o.key for o in listing.objects] == s3_order(TRICKY_KEYS)
    assert not listing.truncated
    first = listing.objects[0]
    assert first.size == len(first.key.encode())
    assert first.etag == hashlib.md5(first.key.encode(), usedforsecurity=False).hexdigest()


def test_local_order_equals_s3_order(tmp_path: Path, s3: S3Storage) -> None:
    orders = []
    backends: list[Storage] = [LocalStorage(tmp_path), s3]
    for backend in backends:
        backend.create_bucket("trail-logs")
        put_many(backend, "trail-logs", TRICKY_KEYS)
        orders.append([o.key for o in backend.list_objects("trail-logs").objects])
        for after in ("a", "a/", "a/b", "a/b.c", "a-", "\u65e5"):
            orders.append([o.key for o in backend.list_objects("trail-logs", after=after, limit=4).objects])
        for prefix in ("a", "a/", "a/b", "a/b.", "\u65e5\u672c/"):
            orders.append([o.key for o in backend.list_objects("trail-logs", prefix=prefix).objects])
    half = len(orders) // 2
    assert orders[:half] == orders[half:]


@pytest.mark.parametrize(
    ("prefix", "after", "limit"),
    [
        ("a/", "", 1000),
        ("a/", "a/", 1000),
        ("a/", "a/b", 2),
        ("a/b", "", 1000),
        ("a", "a/b.c/d", 3),
        ("", "a/", 5),
        ("", "a/\u00e9", 1000),
        ("", "\U0001f600", 1000),
        ("zz", "", 1000),
        ("a//", "", 1000),
    ],
)
def test_prefix_after_limit(storage: Storage, bucket: str, prefix: str, after: str, limit: int) -> None:
    storage_keys = TRICKY_KEYS[:12]
    put_many(storage, bucket, storage_keys)
    matching = [k for k in s3_order(storage_keys) if k.startswith(prefix) and k.encode() > after.encode()]
    listing = storage.list_objects(bucket, prefix=prefix, after=after, limit=limit)
    assert [o.key for o in listing.objects] == matching[:limit]
    assert listing.truncated == (len(matching) > limit)


def test_paging_through_2500_keys(storage: Storage, bucket: str) -> None:
    # CloudTrail's layout: folders per day, many files per folder, keys crossing folder boundaries.
    keys = [f"AWSLogs/1/CloudTrail/r{i % 3}/2026/11/{i % 7:02}/f{i:04}.json.gz" for i in range(2500)]
    if isinstance(storage, S3Storage):
        # Listing is under test here, not writing (other tests cover put_object): unsigned PUTs straight
        # to moto skip botocore's ~8 ms per request and keep this test near 10 s instead of 30.
        endpoint = storage.client.meta.endpoint_url
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda key: raw_put(f"{endpoint}/{bucket}/{key}"), keys))
    else:
        put_many(storage, bucket, keys)
    seen: list[str] = []
    after = ""
    pages = 0
    while True:
        listing = storage.list_objects(bucket, prefix="AWSLogs/1/CloudTrail/", after=after, limit=1000)
        pages += 1
        seen += [o.key for o in listing.objects]
        if not listing.truncated:
            break
        after = seen[-1]
    assert pages == 3
    assert seen == s3_order(keys)
    one_folder = storage.list_objects(bucket, prefix="AWSLogs/1/CloudTrail/r1/2026/11/03/", limit=50)
    assert [o.key for o in one_folder.objects] == [k for k in seen if "/r1/2026/11/03/" in k][:50]


# Keys a filesystem cannot hold


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_unsafe_keys(storage: Storage, bucket: str, key: str) -> None:
    if isinstance(storage, LocalStorage):
        for call in (
            lambda: storage.put_object(bucket, key, b"x"),
            lambda: storage.get_object(bucket, key),
            lambda: storage.head_object(bucket, key),
            lambda: storage.delete_object(bucket, key),
        ):
            with pytest.raises(InvalidKey, match="local bucket store"):
                call()
        assert sorted(p.name for p in storage.root.parent.iterdir()) == ["buckets"]
        assert storage.list_objects(bucket).objects == []
    else:
        # S3 keys are names, not paths: stored and returned literally.
        storage.put_object(bucket, key, b"x")
        assert storage.get_object(bucket, key)[1] == b"x"
        assert [o.key for o in storage.list_objects(bucket).objects] == [key]


def test_object_and_folder_clash(storage: Storage, bucket: str) -> None:
    storage.put_object(bucket, "a", b"file")
    storage.put_object(bucket, "c/d", b"nested")
    if isinstance(storage, LocalStorage):
        with pytest.raises(InvalidKey, match="cannot hold both"):
            storage.put_object(bucket, "a/b", b"x")
        with pytest.raises(InvalidKey, match="folder of other objects"):
            storage.put_object(bucket, "c", b"x")
        storage.delete_object(bucket, "c")  # a folder is not an object: nothing happens
        assert storage.get_object(bucket, "c/d")[1] == b"nested"
    else:
        storage.put_object(bucket, "a/b", b"x")
        storage.put_object(bucket, "c", b"x")
        assert [o.key for o in storage.list_objects(bucket).objects] == ["a", "a/b", "c", "c/d"]


# Opening by URL


def test_open_storage_by_scheme(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_storage(f"file://{tmp_path}"), LocalStorage)
    # The standard AWS chain, nothing passed explicitly: what a deployment does.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    reset_moto(moto_endpoint)
    s3 = open_storage("s3://?region=eu-west-1")
    assert isinstance(s3, S3Storage)
    s3.create_bucket("from-the-chain")
    assert open_storage("s3://").bucket_exists("from-the-chain")
    for url in ("s3://bucket", "s3:///path", "s3://?endpoint=x", "ftp://host/x"):
        with pytest.raises(ConfigError):
            open_storage(url)


# -- server-side encryption -------------------------------------------------------------------------------


@pytest.mark.parametrize("sse", [Encryption(SSE_KMS, KMS_KEY), Encryption(SSE_S3)], ids=["kms", "s3"])
def test_sse_round_trip(storage: Storage, bucket: str, sse: Encryption) -> None:
    data = b"\x1f\x8b secret log file" * 50
    put = storage.put_object(bucket, "AWSLogs/x.json.gz", data, SIGNED, "application/x-gzip", sse)
    assert put.sse == sse
    head = storage.head_object(bucket, "AWSLogs/x.json.gz")
    info, got = storage.get_object(bucket, "AWSLogs/x.json.gz")
    assert got == data
    for seen in (head, info):
        assert (seen.sse, seen.size, seen.metadata, seen.content_type) == (
            sse,
            len(data),
            SIGNED,
            "application/x-gzip",
        )
    assert head.etag == info.etag
    assert [o.size for o in storage.list_objects(bucket).objects] == [len(data)]
    # Overwritten without encryption, the object reports none.
    storage.put_object(bucket, "AWSLogs/x.json.gz", b"plain")
    assert storage.get_object(bucket, "AWSLogs/x.json.gz") == (
        storage.head_object(bucket, "AWSLogs/x.json.gz"),
        b"plain",
    )
    assert storage.head_object(bucket, "AWSLogs/x.json.gz").sse is None
