"""Multipart uploads in the S3 subset (``server/s3/multipart.py``), as ``aws s3 cp`` makes them for files
above 8 MB, with requests botocore builds and answers botocore reads. S3's rules: an upload belongs to
the account, bucket and key that initiated it (anything else is NoSuchUpload, 404); parts are numbered
1 to 10,000, may arrive in any order and be sent again, and each answers the MD5 of its bytes as its
ETag; CompleteMultipartUpload joins the listed parts, which must have been uploaded (InvalidPart) and be
listed once each in ascending order (InvalidPartOrder), into one object with the metadata and content
type the upload began with; an aborted or completed upload is gone."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import S3Error
from opentrail.server.payload import Payload
from opentrail.server.s3.multipart import MultipartUploads
from opentrail.server.s3.target import target_of
from tests.support.asgi import starlette_request
from tests.support.calls import Env
from tests.support.s3 import parsed, s3_request
from tests.support.services import open_env

ACCOUNT, OTHER = "111122223333", "444455556666"
BUCKET = "uploads"
PARTS = {1: b"a" * 1000, 2: b"b" * 10, 3: b"c" * 7}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        env.services.storage.create_bucket(BUCKET)
        yield env


class Client:
    """Sends one account's multipart requests to one ``MultipartUploads``, as the router hands them on."""

    def __init__(self, env: Env, uploads: MultipartUploads, account: str = ACCOUNT) -> None:
        self.env, self.uploads, self.account = env, uploads, account

    def send(self, operation: str, **params: Any) -> dict[str, Any]:
        request, body = s3_request(operation, Bucket=BUCKET, **params)
        call = self.env.call(self.account)
        return parsed(
            operation, asyncio.run(self.uploads.handle(call, request, Payload(body), target_of(request)))
        )

    def refused(self, operation: str, **params: Any) -> tuple[str, int]:
        with pytest.raises(S3Error) as caught:
            self.send(operation, **params)
        return caught.value.s3_code, caught.value.s3_status

    def start(self, key: str = "big", **params: Any) -> str:
        upload_id: str = self.send("CreateMultipartUpload", Key=key, **params)["UploadId"]
        return upload_id

    def part(self, upload_id: str, number: int, data: bytes, key: str = "big", **params: Any) -> str:
        etag: str = self.send(
            "UploadPart", Key=key, UploadId=upload_id, PartNumber=number, Body=data, **params
        )["ETag"]
        return etag

    def complete(self, upload_id: str, numbers: list[int], key: str = "big") -> dict[str, Any]:
        parts = [{"PartNumber": n} for n in numbers]
        return self.send(
            "CompleteMultipartUpload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )


@pytest.fixture
def client(env: Env) -> Client:
    return Client(env, MultipartUploads())


def test_an_upload_becomes_one_object_with_the_metadata_it_began_with(env: Env, client: Client) -> None:
    started = client.send(
        "CreateMultipartUpload", Key="big", Metadata={"signature": "ab12"}, ContentType="x/y"
    )
    assert (started["Bucket"], started["Key"]) == (BUCKET, "big")
    upload_id = started["UploadId"]
    for number, data in PARTS.items():
        assert client.part(upload_id, number, data) == f'"{md5(data)}"'
    done = client.complete(upload_id, [1, 2, 3])
    info, stored = env.services.storage.get_object(BUCKET, "big")
    assert stored == PARTS[1] + PARTS[2] + PARTS[3]
    assert (info.metadata, info.content_type) == ({"signature": "ab12"}, "x/y")
    assert (done["Bucket"], done["Key"], done["Location"]) == (BUCKET, "big", f"/{BUCKET}/big")
    assert done["ETag"] == f'"{info.etag}"'
    # The upload is over.
    assert client.refused("UploadPart", Key="big", UploadId=upload_id, PartNumber=4, Body=b"x") == (
        "NoSuchUpload",
        404,
    )


def test_an_object_uploaded_without_a_content_type_is_binary(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, b"bytes")
    client.complete(upload_id, [1])
    assert env.services.storage.head_object(BUCKET, "big").content_type == "binary/octet-stream"


def test_parts_come_in_any_order_and_a_part_sent_again_replaces_it(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 2, PARTS[2])
    client.part(upload_id, 1, b"first try")
    client.part(upload_id, 1, PARTS[1])
    client.complete(upload_id, [1, 2])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1] + PARTS[2]


def test_only_the_listed_parts_are_joined(env: Env, client: Client) -> None:
    upload_id = client.start()
    for number, data in PARTS.items():
        client.part(upload_id, number, data)
    client.complete(upload_id, [1, 3])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1] + PARTS[3]


@pytest.mark.parametrize("number", ["0", "10001", "-1", "one", ""])
def test_part_numbers_are_1_to_10000(env: Env, client: Client, number: str) -> None:
    upload_id = client.start()
    assert client.part(upload_id, 10000, b"last") == f'"{md5(b"last")}"'
    request = starlette_request("PUT", f"/{BUCKET}/big", query=f"partNumber={number}&uploadId={upload_id}")
    with pytest.raises(S3Error) as caught:
        asyncio.run(client.uploads.handle(env.call(ACCOUNT), request, Payload(b"x"), target_of(request)))
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidArgument", 400)


@pytest.mark.parametrize(
    ("numbers", "code"),
    [([2, 1], "InvalidPartOrder"), ([1, 1, 2], "InvalidPartOrder"), ([1, 4], "InvalidPart")],
)
def test_a_completion_lists_uploaded_parts_once_in_ascending_order(
    env: Env, client: Client, numbers: list[int], code: str
) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    client.part(upload_id, 2, PARTS[2])
    with pytest.raises(S3Error) as caught:
        client.complete(upload_id, numbers)
    assert (caught.value.s3_code, caught.value.s3_status) == (code, 400)
    assert not env.services.storage.list_objects(BUCKET).objects
    # The upload stays, to be completed properly.
    client.complete(upload_id, [1, 2])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1] + PARTS[2]


def test_a_completion_that_is_not_xml_is_malformed(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    request = starlette_request("POST", f"/{BUCKET}/big", query=f"uploadId={upload_id}")
    with pytest.raises(S3Error) as caught:
        asyncio.run(
            client.uploads.handle(
                env.call(ACCOUNT), request, Payload(b"<CompleteMultipartUpload>"), target_of(request)
            )
        )
    assert (caught.value.s3_code, caught.value.s3_status) == ("MalformedXML", 400)


def test_a_part_that_fails_its_content_md5_is_not_kept(client: Client) -> None:
    upload_id = client.start()
    wrong = base64.b64encode(hashlib.md5(b"other", usedforsecurity=False).digest()).decode()
    assert client.refused(
        "UploadPart", Key="big", UploadId=upload_id, PartNumber=1, Body=b"x", ContentMD5=wrong
    ) == (
        "BadDigest",
        400,
    )
    with pytest.raises(S3Error, match="part '1' was not uploaded"):
        client.complete(upload_id, [1])


def test_an_upload_is_its_accounts_bucket_and_key_alone(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    other = Client(env, client.uploads, OTHER)
    assert other.refused("UploadPart", Key="big", UploadId=upload_id, PartNumber=1, Body=b"x") == (
        "NoSuchUpload",
        404,
    )
    assert other.refused("AbortMultipartUpload", Key="big", UploadId=upload_id) == ("NoSuchUpload", 404)
    assert client.refused("UploadPart", Key="other-key", UploadId=upload_id, PartNumber=1, Body=b"x") == (
        "NoSuchUpload",
        404,
    )
    assert client.refused("UploadPart", Key="big", UploadId="no-such-upload", PartNumber=1, Body=b"x") == (
        "NoSuchUpload",
        404,
    )
    # Still its owner's to complete, with the part it sent.
    client.complete(upload_id, [1])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1]


def test_an_aborted_upload_is_gone(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    aborted = client.send("AbortMultipartUpload", Key="big", UploadId=upload_id)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(S3Error) as caught:
        client.complete(upload_id, [1])
    assert (caught.value.s3_code, caught.value.s3_status) == ("NoSuchUpload", 404)
    assert not env.services.storage.list_objects(BUCKET).objects


def test_listing_and_copying_parts_are_not_implemented(client: Client) -> None:
    upload_id = client.start()
    assert client.refused("ListParts", Key="big", UploadId=upload_id) == ("NotImplemented", 501)
    copy = {"Key": "big", "UploadId": upload_id, "PartNumber": 1, "CopySource": f"{BUCKET}/source"}
    assert client.refused("UploadPartCopy", **copy) == ("NotImplemented", 501)


def test_each_upload_has_its_own_id(client: Client) -> None:
    assert len({client.start(), client.start(), client.start(key="other")}) == 3
