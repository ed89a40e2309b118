"""The S3 backend (``storage/s3.py``) beyond the contract every backend passes
(``tests/contract/test_storage.py``), against moto's S3 server on loopback: botocore's failures leave as
storage errors, a bucket outside us-east-1 is created with its region's LocationConstraint, requests
are path-style with plain bodies (no aws-chunked CRC trailers, which S3-compatible services refuse), and
an encryption S3 reports that the seam does not model reads as none."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from opentrail.storage import SSE_S3, Encryption, StorageError
from opentrail.storage.s3 import S3Storage
from tests.support.server import free_port
from tests.support.storage import reset_moto, s3_storage


@pytest.fixture
def endpoint(moto_endpoint: str) -> str:
    reset_moto(moto_endpoint)
    return moto_endpoint


def test_unreachable_s3_raises_storage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    down = s3_storage(f"http://127.0.0.1:{free_port()}")
    calls = [
        lambda: down.bucket_exists("trail-logs"),
        lambda: down.create_bucket("trail-logs"),
        lambda: down.put_object("trail-logs", "k", b"x"),
        lambda: down.get_object("trail-logs", "k"),
        lambda: down.head_object("trail-logs", "k"),
        lambda: down.list_objects("trail-logs"),
        lambda: down.delete_object("trail-logs", "k"),
        down.list_buckets,
    ]
    for call in calls:
        with pytest.raises(StorageError, match="S3 failed") as caught:
            call()
        assert type(caught.value).__module__.startswith("opentrail.")


def test_an_aws_configuration_that_cannot_make_a_client_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with pytest.raises(StorageError, match=r"cannot set up the S3 client: .*no-such-profile"):
        S3Storage()


@pytest.mark.parametrize(("region", "location"), [("eu-west-1", "eu-west-1"), ("us-east-1", None)])
def test_a_bucket_is_created_in_the_clients_region(endpoint: str, region: str, location: str | None) -> None:
    """S3 requires a LocationConstraint outside us-east-1 and refuses one naming us-east-1, where a
    bucket reports no location at all."""
    storage = s3_storage(endpoint, region)
    storage.create_bucket("regional")
    assert storage.client.get_bucket_location(Bucket="regional")["LocationConstraint"] == location


def test_requests_are_path_style_with_plain_bodies(endpoint: str) -> None:
    # A host name, not an address: botocore sends to an IP address path-style whatever it is told.
    endpoint = endpoint.replace("127.0.0.1", "localhost")
    storage = s3_storage(endpoint)
    sent: list[Any] = []
    storage.client.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request))
    storage.create_bucket("plain-bodies")
    storage.put_object("plain-bodies", "AWSLogs/a b.json.gz", b"log file", {"signature": "ab12"})
    (request,) = sent
    assert request.url == f"{endpoint}/plain-bodies/AWSLogs/a%20b.json.gz"
    headers = {name.lower() for name in request.headers}
    assert not {"content-encoding", "x-amz-trailer", "x-amz-decoded-content-length"} & headers
    assert not any(name.startswith("x-amz-checksum-") for name in headers)
    assert request.headers["Content-Length"] == str(len(b"log file"))
    assert storage.get_object("plain-bodies", "AWSLogs/a b.json.gz")[1] == b"log file"


def test_an_encryption_the_seam_does_not_model_reads_as_none(endpoint: str) -> None:
    storage = s3_storage(endpoint)
    storage.create_bucket("encrypted")
    key_id = "arn:aws:kms:us-east-1:111122223333:key/0d6f1b8e"
    storage.client.put_object(
        Bucket="encrypted", Key="dsse", Body=b"z", ServerSideEncryption="aws:kms:dsse", SSEKMSKeyId=key_id
    )
    assert storage.head_object("encrypted", "dsse").sse is None
    assert storage.get_object("encrypted", "dsse")[0].sse is None
    # AES256, which the seam models, is reported with no key id.
    storage.put_object("encrypted", "sse-s3", b"z", sse=Encryption(SSE_S3))
    assert storage.head_object("encrypted", "sse-s3").sse == Encryption(SSE_S3)


def test_put_object_file_streams_one_put_from_the_file(endpoint: str, tmp_path: Path) -> None:
    """One PutObject (not a multipart upload, whose ETag would not be the MD5), its body read from the
    file as it is sent."""
    storage = s3_storage(endpoint)
    storage.create_bucket("uploads")
    sent: list[Any] = []
    storage.client.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(request))
    spool = tmp_path / "body-1"
    data = bytes(range(256)) * 40_000  # 10 MB, over boto3's multipart threshold
    spool.write_bytes(data)
    info = storage.put_object_file("uploads", "big", spool, {"signature": "ab"}, "text/plain")
    assert [request.url.rsplit("/", 2)[-2:] for request in sent] == [["uploads", "big"]]
    assert not isinstance(sent[0].body, bytes)  # the file, not its bytes read into memory
    assert (info.size, info.etag) == (len(data), hashlib.md5(data, usedforsecurity=False).hexdigest())
    stored, got = storage.get_object("uploads", "big")
    assert (got, stored.metadata, stored.content_type) == (data, {"signature": "ab"}, "text/plain")
