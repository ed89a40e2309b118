"""What each S3 call becomes in the trail (``server/s3/audit.py``): CloudTrail's eventName for every
path-style request of the subset, management or data event as CloudTrail classes it, and the record's
shape as real S3 records have it (the corpus's ListObjects, GetObject and GetBucketLocation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.errors import S3Error
from opentrail.server.s3.audit import S3Call, S3Operation, operation_of, record
from tests.support.calls import Env
from tests.support.services import START, open_env

ACCOUNT = "111122223333"


@pytest.mark.parametrize(
    ("method", "bucket", "key", "query", "expected"),
    [
        ("GET", "", "", {}, ("ListBuckets", True, True)),
        ("PUT", "b", "", {}, ("CreateBucket", False, True)),
        ("DELETE", "b", "", {}, ("DeleteBucket", False, True)),
        ("HEAD", "b", "", {}, ("HeadBucket", True, True)),
        ("GET", "b", "", {"location": ""}, ("GetBucketLocation", True, True)),
        ("GET", "b", "", {"uploads": ""}, ("ListMultipartUploads", True, True)),
        ("GET", "b", "", {"list-type": "2", "prefix": "AWSLogs/"}, ("ListObjects", True, False)),
        ("GET", "b", "", {"marker": "k", "encoding-type": "url"}, ("ListObjects", True, False)),
        ("POST", "b", "", {"delete": ""}, ("DeleteObjects", False, False)),
        ("GET", "b", "", {"acl": ""}, ("GetBucketAcl", True, True)),
        ("PUT", "b", "", {"policy": ""}, ("PutBucketPolicy", False, True)),
        ("GET", "b", "", {"versions": ""}, ("ListObjectVersions", True, False)),
        ("GET", "b", "k", {}, ("GetObject", True, False)),
        ("GET", "b", "k", {"x-id": "GetObject"}, ("GetObject", True, False)),
        ("HEAD", "b", "k", {}, ("HeadObject", True, False)),
        ("PUT", "b", "k", {}, ("PutObject", False, False)),
        ("DELETE", "b", "k", {}, ("DeleteObject", False, False)),
        ("POST", "b", "k", {"uploads": ""}, ("CreateMultipartUpload", False, False)),
        ("PUT", "b", "k", {"partNumber": "1", "uploadId": "u"}, ("UploadPart", False, False)),
        ("POST", "b", "k", {"uploadId": "u"}, ("CompleteMultipartUpload", False, False)),
        ("DELETE", "b", "k", {"uploadId": "u"}, ("AbortMultipartUpload", False, False)),
        ("GET", "b", "k", {"uploadId": "u"}, ("ListParts", True, False)),
        ("GET", "b", "k", {"tagging": ""}, ("GetObjectTagging", True, False)),
        ("POST", "b", "k", {"restore": ""}, ("RestoreObject", False, False)),
    ],
)
def test_each_request_is_named_as_cloudtrail_names_it(
    method: str, bucket: str, key: str, query: dict[str, str], expected: tuple[str, bool, bool]
) -> None:
    assert operation_of(method, bucket, key, query) == S3Operation(*expected)


def test_a_put_with_a_copy_source_is_copy_object() -> None:
    assert operation_of("PUT", "b", "k", {}, copy=True).name == "CopyObject"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path, FixedClock(START)):
        env.services.new_id = lambda: "00000000-0000-4000-8000-000000000001"
        yield env


def s3_call(operation: S3Operation, key: str = "", **query: str) -> S3Call:
    return S3Call(operation, "logs", key, "127.0.0.1:8790", query, ACCOUNT, 7, 89, None)


def test_a_listing_is_a_data_event_naming_its_prefix_as_cloudtrail_does(env: Env) -> None:
    listing = operation_of("GET", "logs", "", {"list-type": "2", "prefix": "AWSLogs/"})
    rec = record(env.call(ACCOUNT), s3_call(listing, **{"list-type": "2", "prefix": "AWSLogs/"}))
    assert (rec["eventCategory"], rec["managementEvent"], rec["readOnly"]) == ("Data", False, True)
    assert rec["requestParameters"] == {
        "bucketName": "logs",
        "Host": "127.0.0.1:8790",
        "list-type": "2",
        "prefix": "AWSLogs/",
    }
    assert rec["resources"] == [
        {"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::logs/AWSLogs/"},
        {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs"},
    ]
    assert rec["additionalEventData"]["bytesTransferredOut"] == 89


def test_an_object_call_names_the_object_and_its_bucket(env: Env) -> None:
    rec = record(env.call(ACCOUNT), s3_call(operation_of("GET", "logs", "a/b.json.gz", {}), "a/b.json.gz"))
    assert rec["eventName"] == "GetObject"
    assert rec["requestParameters"] == {"bucketName": "logs", "Host": "127.0.0.1:8790", "key": "a/b.json.gz"}
    assert [r["ARN"] for r in rec["resources"]] == ["arn:aws:s3:::logs/a/b.json.gz", "arn:aws:s3:::logs"]


def test_a_bucket_call_is_a_management_event_with_its_error(env: Env) -> None:
    s3 = S3Call(
        operation_of("DELETE", "logs", "", {}),
        "logs",
        "",
        "127.0.0.1:8790",
        {},
        ACCOUNT,
        0,
        0,
        S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
    )
    rec = record(env.call(ACCOUNT), s3)
    assert (rec["eventName"], rec["eventCategory"], rec["managementEvent"]) == (
        "DeleteBucket",
        "Management",
        True,
    )
    assert (rec["errorCode"], rec["errorMessage"]) == (
        "BucketNotEmpty",
        "The bucket you tried to delete is not empty",
    )
    assert rec["resources"] == [{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::logs"}]
    json.dumps(rec)  # a record, JSON all through
