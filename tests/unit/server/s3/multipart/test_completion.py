"""CompleteMultipartUpload's rules (``server/s3/multipart/completion.py``): the part list as botocore sends
it, S3's errors for a list that breaks a rule, and the multipart ETag, the same one an S3 emulator gives
the same parts (moto's server on loopback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from opentrail.errors import S3Error
from opentrail.server.s3.multipart.completion import (
    MIN_PART_SIZE,
    choose,
    concatenate,
    listed_parts,
    multipart_etag,
)
from opentrail.server.s3.multipart.records import PartRecord
from tests.support.s3 import s3_request
from tests.support.storage import fake_session


def part(number: int, data: bytes) -> PartRecord:
    return PartRecord(
        number, len(data), hashlib.md5(data, usedforsecurity=False).hexdigest(), 0.0, f"{number}"
    )


def body(parts: list[dict[str, object]]) -> bytes:
    _, sent = s3_request(
        "CompleteMultipartUpload", Bucket="b", Key="k", UploadId="u", MultipartUpload={"Parts": parts}
    )
    return sent


def test_the_list_botocore_sends() -> None:
    sent = body([{"PartNumber": 1, "ETag": '"abc"'}, {"PartNumber": 2, "ChecksumCRC32": "AAAAAA=="}])
    assert listed_parts(sent) == [(1, "abc"), (2, None)]


@pytest.mark.parametrize(
    "sent",
    [
        b"<CompleteMultipartUpload/>",
        b"<Other><Part><PartNumber>1</PartNumber></Part></Other>",
        b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>\u00b2</PartNumber></Part></CompleteMultipartUpload>".encode(),
        b"<CompleteMultipartUpload><Part><PartNumber>123456</PartNumber></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
    ],
)
def test_a_list_that_is_no_list_of_parts_is_malformed(sent: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        listed_parts(sent)
    assert caught.value.s3_code == "MalformedXML"


def test_a_listed_etag_must_be_the_parts() -> None:
    stored = {1: part(1, b"x" * MIN_PART_SIZE), 2: part(2, b"y")}
    assert choose([(1, stored[1].md5), (2, None)], stored) == [stored[1], stored[2]]
    with pytest.raises(S3Error) as caught:
        choose([(1, "0" * 32), (2, None)], stored)
    assert (caught.value.s3_code, caught.value.fields["PartNumber"]) == ("InvalidPart", "1")


def test_parts_are_joined_in_list_order(tmp_path: Path) -> None:
    for number, data in ((1, b"first "), (2, b"second")):
        (tmp_path / str(number)).write_bytes(data)
    concatenate(tmp_path, [part(1, b"first "), part(2, b"second")], tmp_path / "joined")
    assert (tmp_path / "joined").read_bytes() == b"first second"


def test_the_multipart_etag_is_the_one_s3_gives(moto_endpoint: str) -> None:
    data = [b"a" * MIN_PART_SIZE, b"b" * MIN_PART_SIZE, b"tail"]
    s3 = fake_session().client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="etags")
    upload_id = s3.create_multipart_upload(Bucket="etags", Key="k")["UploadId"]
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(Bucket="etags", Key="k", UploadId=upload_id, PartNumber=n, Body=d)["ETag"],
        }
        for n, d in enumerate(data, start=1)
    ]
    done = s3.complete_multipart_upload(
        Bucket="etags", Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    ours = multipart_etag([part(n, d) for n, d in enumerate(data, start=1)])
    assert done["ETag"] == f'"{ours}"'
    assert ours.endswith("-3")
