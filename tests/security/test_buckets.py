"""The S3 subset under attack: every bucket and object operation an intruder aims at the victim's bucket,
its multipart upload and its objects (copies included); and paths that try to leave the bucket store:
``..`` and its encodings, absolute and backslashed keys, NUL, keys too long for S3 or a filesystem,
bucket names that are paths. Nothing outside the bucket's folder is read or written, and every error
is S3's well-formed XML."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from tests.support.holdings import Holdings
from tests.support.server import Server
from tests.support.signing import S3HeaderSigner, boto_credentials
from tests.support.wire import Answer, Wire, xml_error


def refused(call: Any, code: str, status: int, **params: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response: Any = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)


def aimed(victim: Holdings) -> dict[str, tuple[str, dict[str, Any]]]:
    """S3 operations on the victim's bucket, by name: (boto3 method, parameters)."""
    b, k = victim.bucket, victim.key
    return {
        "HeadBucket": ("head_bucket", {"Bucket": b}),
        "GetBucketLocation": ("get_bucket_location", {"Bucket": b}),
        "ListObjects": ("list_objects", {"Bucket": b}),
        "ListObjectsV2": ("list_objects_v2", {"Bucket": b}),
        "GetObject": ("get_object", {"Bucket": b, "Key": k}),
        "GetObject-range": ("get_object", {"Bucket": b, "Key": k, "Range": "bytes=0-3"}),
        "HeadObject": ("head_object", {"Bucket": b, "Key": k}),
        "PutObject-overwrite": ("put_object", {"Bucket": b, "Key": k, "Body": b"overwritten"}),
        "PutObject-new": ("put_object", {"Bucket": b, "Key": "planted", "Body": b"planted"}),
        "DeleteObject": ("delete_object", {"Bucket": b, "Key": k}),
        "DeleteObjects": ("delete_objects", {"Bucket": b, "Delete": {"Objects": [{"Key": k}]}}),
        "DeleteBucket": ("delete_bucket", {"Bucket": b}),
        "CreateMultipartUpload": ("create_multipart_upload", {"Bucket": b, "Key": "planted"}),
        "UploadPart": (
            "upload_part",
            {"Bucket": b, "Key": "pending", "UploadId": victim.upload_id, "PartNumber": 1, "Body": b"x"},
        ),
        "CompleteMultipartUpload": (
            "complete_multipart_upload",
            {"Bucket": b, "Key": "pending", "UploadId": victim.upload_id, "MultipartUpload": {"Parts": []}},
        ),
        "AbortMultipartUpload": (
            "abort_multipart_upload",
            {"Bucket": b, "Key": "pending", "UploadId": victim.upload_id},
        ),
    }


OPERATIONS = [
    "HeadBucket",
    "GetBucketLocation",
    "ListObjects",
    "ListObjectsV2",
    "GetObject",
    "GetObject-range",
    "HeadObject",
    "PutObject-overwrite",
    "PutObject-new",
    "DeleteObject",
    "DeleteObjects",
    "DeleteBucket",
    "CreateMultipartUpload",
    "UploadPart",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_victims_bucket_is_denied_to_the_intruder(
    wire: Wire, victim: Holdings, intruder: Holdings, operation: str
) -> None:
    method, params = aimed(victim)[operation]
    # A HEAD answer has no body: botocore names the error by its status.
    code = "403" if method.startswith("head_") else "AccessDenied"
    refused(getattr(wire.boto("s3", intruder.creds), method), code, 403, **params)
    mine = wire.boto("s3", victim.creds)
    assert mine.get_object(Bucket=victim.bucket, Key=victim.key)["Body"].read() == victim.content
    keys = {item["Key"] for item in mine.list_objects_v2(Bucket=victim.bucket).get("Contents", [])}
    assert "planted" not in keys
    # The victim's upload is still its own to continue.
    part = mine.upload_part(
        Bucket=victim.bucket, Key="pending", UploadId=victim.upload_id, PartNumber=1, Body=b"p"
    )
    assert part["ETag"]


def test_the_victims_bucket_name_cannot_be_taken_or_listed(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    client = wire.boto("s3", intruder.creds)
    refused(client.create_bucket, "BucketAlreadyExists", 409, Bucket=victim.bucket)
    assert victim.bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}


def test_the_victims_upload_id_is_no_use_elsewhere(wire: Wire, victim: Holdings, intruder: Holdings) -> None:
    client = wire.boto("s3", intruder.creds)
    refused(
        client.upload_part,
        "NoSuchUpload",
        404,
        Bucket=intruder.bucket,
        Key="pending",
        UploadId=victim.upload_id,
        PartNumber=1,
        Body=b"x",
    )


def test_an_object_cannot_be_copied_out_of_the_victims_bucket(
    wire: Wire, victim: Holdings, intruder: Holdings
) -> None:
    """CopyObject stays outside the subset (501, S3's NotImplemented): it never reads the source."""
    client = wire.boto("s3", intruder.creds)
    source = {"Bucket": victim.bucket, "Key": victim.key}
    refused(
        client.copy_object, "NotImplemented", 501, Bucket=intruder.bucket, Key="copied", CopySource=source
    )
    refused(client.get_object, "NoSuchKey", 404, Bucket=intruder.bucket, Key="copied")


def s3_raw(server: Server, wire: Wire, h: Holdings, method: str, path: str, body: bytes = b"") -> Answer:
    """A signed S3 request with ``path`` sent exactly as written (no client normalises it)."""
    request = AWSRequest(method=method, url=server.endpoint + path, data=body)
    S3HeaderSigner(boto_credentials(h.creds), "s3", "us-east-1", None).add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
    host = f"127.0.0.1:{server.port}"
    data = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    return wire.raw("s3-raw", data.encode("latin-1") + body, head=method == "HEAD")


def files_now(server: Server) -> set[Path]:
    """Every file under the data directory but the log files trails deliver meanwhile."""
    found = {Path(d) / f for d, _, names in os.walk(server.data_dir) for f in names}
    return {path for path in found if "AWSLogs" not in path.parts}


@pytest.fixture
def files(server: Server) -> set[Path]:
    """The files before the test: after it, none may be new outside the bucket the test writes to."""
    return files_now(server)


ESCAPES = [
    "../escaped",
    "..%2Fescaped",
    "%2e%2e/%2e%2e/escaped",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fescaped",
    "a/../../escaped",
    "ok/%2e%2e",
    "/absolute",
    "%2Fabsolute",
    "a//b",
    "./a",
    ".",
    "..",
    "a/",
    "%00",
    "a%00b",
    "k" * 1025,
    ("s" * 300) + "/x",
    "%ff%fe",
]


@pytest.mark.parametrize("key", ESCAPES, ids=[k[:24] for k in ESCAPES])
def test_a_key_that_leaves_the_bucket_is_refused(
    server: Server, wire: Wire, intruder: Holdings, files: set[Path], key: str
) -> None:
    canary = server.data_dir / "canary.txt"
    canary.write_text("outside every bucket")
    try:
        path = f"/{intruder.bucket}/{key}"
        code = "InvalidURI" if key == "%ff%fe" else "InvalidArgument"
        xml_error(s3_raw(server, wire, intruder, "PUT", path, b"planted"), 400, code)
        for method in ("GET", "DELETE"):
            answer = s3_raw(server, wire, intruder, method, path)
            xml_error(answer, 400, code)
        xml_error(
            s3_raw(server, wire, intruder, "GET", f"/{intruder.bucket}/..%2Fcanary.txt"),
            400,
            "InvalidArgument",
        )
        assert canary.read_text() == "outside every bucket"
        assert files_now(server) - files <= {canary}
    finally:
        canary.unlink()


def test_a_backslashed_key_stays_in_its_bucket(
    server: Server, wire: Wire, intruder: Holdings, files: set[Path]
) -> None:
    """Backslashes are ordinary key characters (S3's), never separators."""
    key = "a%5C..%5C..%5Cbackslashed"
    assert s3_raw(server, wire, intruder, "PUT", f"/{intruder.bucket}/{key}", b"inside").status == 200
    got = s3_raw(server, wire, intruder, "GET", f"/{intruder.bucket}/{key}")
    assert (got.status, got.body) == (200, b"inside")
    for new in files_now(server) - files:
        assert intruder.bucket in new.parts, new


@pytest.mark.parametrize(
    "bucket", ["..", "%2e%2e", ".", "%2e%2e%2f%2e%2e", "a..b", "UPPER", "x" * 64, "192.168.0.1", "-dash"]
)
def test_a_bucket_name_that_is_a_path_is_refused(
    server: Server, wire: Wire, intruder: Holdings, files: set[Path], bucket: str
) -> None:
    for method, path in (("PUT", f"/{bucket}"), ("GET", f"/{bucket}/key"), ("GET", f"/{bucket}")):
        xml_error(s3_raw(server, wire, intruder, method, path), 400, "InvalidBucketName")
    assert files_now(server) == files


@pytest.mark.parametrize(
    "key", ['<a href="x">&amp;</a>', "]]><x/>", "\u202egnp.exe", "\u00e9\U0001f600", "a%0Db%0Ac"]
)
def test_keys_with_markup_come_back_exact_in_well_formed_xml(
    server: Server, wire: Wire, intruder: Holdings, key: str
) -> None:
    client = wire.boto("s3", intruder.creds)
    client.put_object(Bucket=intruder.bucket, Key=f"markup/{key}", Body=b"m")
    listed = s3_raw(server, wire, intruder, "GET", f"/{intruder.bucket}?list-type=2&prefix=markup%2F")
    assert listed.status == 200
    keys = [e.text for e in ET.fromstring(listed.body).iter() if e.tag.endswith("}Key")]  # noqa: S314
    assert f"markup/{key}" in keys
    missing = s3_raw(server, wire, intruder, "GET", f"/{intruder.bucket}/missing-{time.time_ns()}%3C%26")
    xml_error(missing, 404, "NoSuchKey")
    client.delete_object(Bucket=intruder.bucket, Key=f"markup/{key}")


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("HeadBucket", "head_bucket"),
        ("GetBucketLocation", "get_bucket_location"),
        ("DeleteBucket", "delete_bucket"),
    ],
)
def test_a_denied_bucket_call_is_recorded_for_the_intruder_only(
    wire: Wire, victim: Holdings, intruder: Holdings, operation: str, method: str
) -> None:
    """Bucket calls are management events (docs/api.md): the intruder's attempt on the victim's bucket
    is in the intruder's history, refused, and never in the victim's."""
    with pytest.raises(ClientError) as caught:
        getattr(wire.boto("s3", intruder.creds), method)(Bucket=victim.bucket)
    request_id = caught.value.response["ResponseMetadata"]["RequestId"]
    record = wire.recorded(intruder.creds, operation, [request_id]).get(request_id)
    assert record is not None, f"the intruder's {operation} is not in its history"
    assert (record["eventSource"], record["errorCode"]) == ("s3.amazonaws.com", "AccessDenied")
    assert record["recipientAccountId"] == intruder.account
    assert request_id not in wire.history(victim.creds, operation)


def test_the_holders_own_bucket_calls_are_recorded(wire: Wire, victim: Holdings) -> None:
    """The control: the same calls by the bucket's owner are served and recorded, without an error."""
    client = wire.boto("s3", victim.creds)
    request_id = client.head_bucket(Bucket=victim.bucket)["ResponseMetadata"]["RequestId"]
    record = wire.recorded(victim.creds, "HeadBucket", [request_id]).get(request_id)
    assert record is not None
    assert "errorCode" not in record
    assert "CreateBucket" in {r["eventName"] for r in wire.history(victim.creds, "CreateBucket").values()}
