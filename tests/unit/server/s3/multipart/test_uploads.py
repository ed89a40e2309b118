"""Multipart uploads over HTTP (``server/s3/multipart/uploads.py``), with requests botocore builds and
answers botocore reads. S3's rules: an upload belongs to the account, bucket and key that started it
(anything else is NoSuchUpload, 404); parts are numbered 1 to 10,000, may arrive in any order and be sent
again, and each answers the MD5 of its bytes as its ETag; CompleteMultipartUpload joins the listed parts
into one object with the metadata and content type the upload began with, and answers S3's multipart
ETag; an aborted or completed upload is gone. Parts wait on disk, each account's under its own quota: one
account's abandoned parts never fail another's uploads."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.clock import FixedClock
from opentrail.errors import S3Error, StorageError
from opentrail.server.payload import Payload
from opentrail.server.s3.multipart import MultipartUploads
from opentrail.server.s3.target import target_of
from tests.support.asgi import starlette_request
from tests.support.calls import Env
from tests.support.s3 import parsed, s3_request
from tests.support.services import START, open_env

ACCOUNT, OTHER = "111122223333", "444455556666"
BUCKET = "uploads"
MIB = 1024 * 1024
# Every part but the last is at least 5 MiB, as in S3.
PARTS = {1: b"a" * 5 * MIB, 2: b"b" * 5 * MIB, 3: b"c" * 7}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def multipart_etag(*parts: bytes) -> str:
    joined = b"".join(hashlib.md5(part, usedforsecurity=False).digest() for part in parts)
    return f"{md5(joined)}-{len(parts)}"


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
        handler = self.uploads.list_uploads if operation == "ListMultipartUploads" else None
        if handler is not None:
            return parsed(operation, asyncio.run(handler(call, target_of(request))))
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
def client(env: Env) -> Iterator[Client]:
    client = Client(env, MultipartUploads())
    yield client
    client.uploads.close()


def test_an_upload_becomes_one_object_with_the_metadata_it_began_with(env: Env, client: Client) -> None:
    started = client.send(
        "CreateMultipartUpload", Key="big", Metadata={"signature": "ab12"}, ContentType="x/y"
    )
    assert (started["Bucket"], started["Key"], started["ServerSideEncryption"]) == (BUCKET, "big", "AES256")
    upload_id = started["UploadId"]
    for number, data in PARTS.items():
        assert client.part(upload_id, number, data) == f'"{md5(data)}"'
    done = client.complete(upload_id, [1, 2, 3])
    info, stored = env.services.storage.get_object(BUCKET, "big")
    assert stored == PARTS[1] + PARTS[2] + PARTS[3]
    assert (info.metadata, info.content_type) == ({"signature": "ab12"}, "x/y")
    assert (done["Bucket"], done["Key"], done["Location"]) == (BUCKET, "big", f"/{BUCKET}/big")
    # S3's ETag of a multipart object: the MD5 of the parts' MD5s, and their count.
    assert done["ETag"] == f'"{multipart_etag(PARTS[1], PARTS[2], PARTS[3])}"'
    # The upload is over, and its parts are gone from the disk.
    assert client.refused("UploadPart", Key="big", UploadId=upload_id, PartNumber=4, Body=b"x") == (
        "NoSuchUpload",
        404,
    )
    assert not list((env.services.settings.data_dir / "uploads" / ACCOUNT / BUCKET).iterdir())


def test_an_upload_says_when_it_will_be_aborted(client: Client) -> None:
    started = client.send("CreateMultipartUpload", Key="big")
    week = 7 * 24 * 3600
    assert started["AbortDate"].timestamp() == START + week
    assert started["AbortRuleId"] == "opentrail-multipart-expiry"
    listed = client.send("ListParts", Key="big", UploadId=started["UploadId"])
    assert listed["AbortDate"].timestamp() == START + week


def test_an_object_uploaded_without_a_content_type_is_binary(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, b"bytes")
    client.complete(upload_id, [1])
    assert env.services.storage.head_object(BUCKET, "big").content_type == "binary/octet-stream"


def test_parts_come_in_any_order_and_a_part_sent_again_replaces_it(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 2, PARTS[3])
    client.part(upload_id, 1, b"first try")
    client.part(upload_id, 1, PARTS[1])
    done = client.complete(upload_id, [1, 2])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1] + PARTS[3]
    assert done["ETag"] == f'"{multipart_etag(PARTS[1], PARTS[3])}"'


def test_only_the_listed_parts_are_joined(env: Env, client: Client) -> None:
    upload_id = client.start()
    for number, data in PARTS.items():
        client.part(upload_id, number, data)
    client.complete(upload_id, [1, 3])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[1] + PARTS[3]


@pytest.mark.parametrize("number", ["0", "10001", "-1", "one", "", "\u00b2"])
def test_part_numbers_are_1_to_10000(env: Env, client: Client, number: str) -> None:
    upload_id = client.start()
    assert client.part(upload_id, 10000, b"last") == f'"{md5(b"last")}"'
    request = starlette_request("PUT", f"/{BUCKET}/big", query=f"partNumber={number}&uploadId={upload_id}")
    with pytest.raises(S3Error) as caught:
        asyncio.run(client.uploads.handle(env.call(ACCOUNT), request, Payload(b"x"), target_of(request)))
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidArgument", 400)
    assert str(caught.value) == "Part number must be an integer between 1 and 10000, inclusive"


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


def test_every_part_but_the_last_is_at_least_5_mib(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, b"small")
    client.part(upload_id, 2, b"last")
    with pytest.raises(S3Error) as caught:
        client.complete(upload_id, [1, 2])
    assert (caught.value.s3_code, str(caught.value)) == (
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
    )
    assert caught.value.fields["ProposedSize"] == "5"
    assert not env.services.storage.list_objects(BUCKET).objects


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
    ) == ("BadDigest", 400)
    assert client.refused(
        "CompleteMultipartUpload",
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1}]},
    ) == ("InvalidPart", 400)


def test_an_upload_is_its_accounts_bucket_and_key_alone(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[3])
    other = Client(env, client.uploads, OTHER)
    refusals = [
        other.refused("UploadPart", Key="big", UploadId=upload_id, PartNumber=1, Body=b"x"),
        other.refused("AbortMultipartUpload", Key="big", UploadId=upload_id),
        other.refused("ListParts", Key="big", UploadId=upload_id),
        client.refused("UploadPart", Key="other-key", UploadId=upload_id, PartNumber=1, Body=b"x"),
        client.refused("UploadPart", Key="big", UploadId="no-such-upload", PartNumber=1, Body=b"x"),
        client.refused("UploadPart", Key="big", UploadId="../../../etc", PartNumber=1, Body=b"x"),
    ]
    assert refusals == [("NoSuchUpload", 404)] * len(refusals)
    assert "Uploads" not in other.send("ListMultipartUploads")
    # Still its owner's to complete, with the part it sent.
    client.complete(upload_id, [1])
    assert env.services.storage.get_object(BUCKET, "big")[1] == PARTS[3]


def test_an_aborted_upload_is_gone_with_its_parts(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    aborted = client.send("AbortMultipartUpload", Key="big", UploadId=upload_id)
    assert aborted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert client.refused(
        "CompleteMultipartUpload",
        Key="big",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1}]},
    ) == ("NoSuchUpload", 404)
    assert client.refused("AbortMultipartUpload", Key="big", UploadId=upload_id) == ("NoSuchUpload", 404)
    assert not env.services.storage.list_objects(BUCKET).objects
    assert not list((env.services.settings.data_dir / "uploads" / ACCOUNT / BUCKET).iterdir())
    assert client.uploads.spool(env.services).held(ACCOUNT) == 0


def test_list_parts_tells_each_parts_number_size_and_etag(client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 3, PARTS[3])
    client.part(upload_id, 1, PARTS[1])
    listed = client.send("ListParts", Key="big", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]] == [
        (1, len(PARTS[1]), f'"{md5(PARTS[1])}"'),
        (3, len(PARTS[3]), f'"{md5(PARTS[3])}"'),
    ]
    assert {p["LastModified"].timestamp() for p in listed["Parts"]} == {START}
    assert (listed["Owner"]["ID"], listed["Initiator"]["ID"]) == (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root")
    assert (listed["StorageClass"], listed["IsTruncated"]) == ("STANDARD", False)


def test_copying_a_part_is_not_implemented(client: Client) -> None:
    upload_id = client.start()
    copy = {"Key": "big", "UploadId": upload_id, "PartNumber": 1, "CopySource": f"{BUCKET}/source"}
    assert client.refused("UploadPartCopy", **copy) == ("NotImplemented", 501)


def test_each_upload_has_its_own_id(client: Client) -> None:
    assert len({client.start(), client.start(), client.start(key="other")}) == 3


def test_one_accounts_abandoned_parts_never_fail_anothers_upload(env: Env) -> None:
    """Defect 4 of issue 13: parts of abandoned uploads held one cap shared by every account, so one
    account's 56 abandoned 9 MiB parts made everyone else's uploads fail with 503."""
    env.services.settings = dataclasses.replace(env.services.settings, multipart_quota_bytes=12 * MIB)
    uploads = MultipartUploads()
    hoarder, other = Client(env, uploads, OTHER), Client(env, uploads, ACCOUNT)
    abandoned = hoarder.start()
    hoarder.part(abandoned, 1, PARTS[1])
    hoarder.part(abandoned, 2, PARTS[2])
    # The hoarder is at its quota: its own next part is refused, with S3's error for a size too large...
    refused = hoarder.refused("UploadPart", Key="big", UploadId=abandoned, PartNumber=3, Body=PARTS[2])
    assert refused == ("EntityTooLarge", 400)
    # ... while another account uploads as much as its own quota holds.
    upload_id = other.start()
    other.part(upload_id, 1, PARTS[1])
    other.part(upload_id, 2, PARTS[2])
    other.complete(upload_id, [1, 2])
    assert env.services.storage.head_object(BUCKET, "big").size == 10 * MIB
    # Aborting frees the hoarder's room.
    hoarder.send("AbortMultipartUpload", Key="big", UploadId=abandoned)
    assert uploads.spool(env.services).held(OTHER) == 0
    hoarder.part(hoarder.start(), 1, PARTS[1])
    uploads.close()


def test_parts_wait_on_disk_not_in_memory(env: Env, client: Client) -> None:
    upload_id = client.start()
    client.part(upload_id, 1, PARTS[1])
    folder = env.services.settings.data_dir / "uploads" / ACCOUNT / BUCKET / upload_id
    data = [path for path in folder.iterdir() if path.name.endswith(".data")]
    assert [path.read_bytes() for path in data] == [PARTS[1]]
    assert (folder / "part-00001.json").is_file()
    assert (folder / "upload.json").is_file()


def test_an_upload_survives_a_restart(env: Env, client: Client) -> None:
    upload_id = client.start(Metadata={"signature": "ab12"})
    client.part(upload_id, 1, PARTS[1])
    client.uploads.close()  # as the app does when it stops
    restarted = Client(env, MultipartUploads())
    restarted.part(upload_id, 2, PARTS[3])
    restarted.complete(upload_id, [1, 2])
    info, data = env.services.storage.get_object(BUCKET, "big")
    assert (data, info.metadata) == (PARTS[1] + PARTS[3], {"signature": "ab12"})
    restarted.uploads.close()


def test_the_expiry_loop_aborts_abandoned_uploads_as_soon_as_it_starts(env: Env, client: Client) -> None:
    abandoned = client.start()
    client.part(abandoned, 1, PARTS[3])
    clock = env.services.clock
    assert isinstance(clock, FixedClock)
    clock.advance(7 * 24 * 3600 - 1)
    fresh = client.start(key="fresh")
    clock.advance(2)  # the first upload is now a week and a second old

    async def first_pass() -> None:
        loop = asyncio.create_task(client.uploads.expire_forever(env.services))
        await asyncio.sleep(0.3)
        loop.cancel()

    asyncio.run(first_pass())
    assert client.refused("ListParts", Key="big", UploadId=abandoned) == ("NoSuchUpload", 404)
    assert [u["UploadId"] for u in client.send("ListMultipartUploads")["Uploads"]] == [fresh]


def test_a_second_process_on_the_same_spool_serves_no_upload(env: Env, client: Client) -> None:
    """Two servers sharing a data dir would each clean away the other's writes in flight: the second is
    refused the spool (503, retryable) rather than let to."""
    client.start()
    second = Client(env, MultipartUploads())
    with pytest.raises(StorageError, match="in use by another server process"):
        second.start()
    client.uploads.close()
    second.start()
    second.uploads.close()
