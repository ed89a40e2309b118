"""The S3 subset's routing (``server/s3/router.py``), in process, with requests botocore builds and
answers botocore reads: which requests are S3's (signed for service s3, in a header or a presigned URL,
SigV2 or SigV4), which operations the subset serves and which it names as NotImplemented (501) or
MethodNotAllowed (405), and the bucket store's failures in S3's codes (NoSuchKey and NoSuchBucket 404,
InvalidBucketName and InvalidArgument 400, ServiceUnavailable 503), each naming the bucket and key."""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.config
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail.server.s3.listing import NS
from opentrail.server.s3.router import S3Api, is_s3
from opentrail.server.s3.subset import UNSUPPORTED
from opentrail.storage import SSE_KMS, Encryption, LocalStorage
from tests.support.asgi import from_botocore, starlette_request
from tests.support.calls import Env
from tests.support.s3 import S3, answer, error_of, parsed, s3_call
from tests.support.services import open_env
from tests.support.storage import KMS_KEY, MASTER

ACCOUNT = "111122223333"
BUCKET = "trail-logs"
KEYS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path)


@pytest.fixture
def api(env: Env) -> S3Api:
    api = S3Api()
    assert "Location" in s3_call(api, env.call(ACCOUNT), "CreateBucket", Bucket=BUCKET)
    return api


def send(env: Env, api: S3Api, operation: str, **params: Any) -> dict[str, Any]:
    return s3_call(api, env.call(ACCOUNT), operation, **params)


# -- which requests are S3's --------------------------------------------------------------------------


def header_signed(service: str) -> AWSRequest:
    request = AWSRequest("GET", f"http://127.0.0.1:8790/{BUCKET}/k")
    SigV4Auth(KEYS, service, "us-east-1").add_auth(request)
    return request


def presigned(signature: str | None) -> str:
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:8790",
        region_name="us-east-1",
        aws_access_key_id=KEYS.access_key,
        aws_secret_access_key=KEYS.secret_key,
        config=botocore.config.Config(s3={"addressing_style": "path"}, signature_version=signature),
    )
    url: str = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "k"})
    return url


def test_requests_signed_for_s3_are_s3s() -> None:
    assert is_s3(from_botocore(header_signed("s3")))
    for url in (presigned("s3v4"), presigned(None)):  # SigV4 and SigV2 (botocore's default) query signatures
        parts = urlsplit(url)
        assert is_s3(starlette_request("GET", parts.path, query=parts.query)), url


def test_requests_signed_for_another_service_or_not_at_all_are_not() -> None:
    assert not is_s3(from_botocore(header_signed("cloudtrail")))
    assert not is_s3(starlette_request("GET", f"/{BUCKET}/k"))
    v4 = urlsplit(presigned("s3v4")).query.replace("%2Fs3%2Faws4_request", "%2Fcloudtrail%2Faws4_request")
    assert not is_s3(starlette_request("GET", f"/{BUCKET}/k", query=v4))


# -- what the subset serves -----------------------------------------------------------------------------


def test_buckets_and_objects(env: Env, api: S3Api) -> None:
    assert send(env, api, "HeadBucket", Bucket=BUCKET)["BucketRegion"] == "us-east-1"
    assert [b["Name"] for b in send(env, api, "ListBuckets")["Buckets"]] == [BUCKET]
    put = send(env, api, "PutObject", Bucket=BUCKET, Key="AWSLogs/a b.json", Body=b"{}", ContentType="x/y")
    assert put["ETag"] == f'"{hashlib.md5(b"{}", usedforsecurity=False).hexdigest()}"'
    got = send(env, api, "GetObject", Bucket=BUCKET, Key="AWSLogs/a b.json")
    assert (got["Body"], got["ContentType"], got["ETag"]) == (b"{}", "x/y", put["ETag"])
    assert [o["Key"] for o in send(env, api, "ListObjectsV2", Bucket=BUCKET)["Contents"]] == [
        "AWSLogs/a b.json"
    ]
    deleted = send(env, api, "DeleteObject", Bucket=BUCKET, Key="AWSLogs/a b.json")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(send(env, api, "GetObject", Bucket=BUCKET, Key="AWSLogs/a b.json")) == ("NoSuchKey", 404)
    # As in S3, deleting what is not there succeeds.
    assert (
        send(env, api, "DeleteObject", Bucket=BUCKET, Key="never")["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )


def test_a_us_east_1_bucket_has_an_empty_location_constraint(env: Env, api: S3Api) -> None:
    response = answer(api, env.call(ACCOUNT), starlette_request("GET", f"/{BUCKET}", query="location"), b"")
    root = ET.fromstring(bytes(response.body))  # noqa: S314 - the server's own answer
    assert (response.status_code, root.tag, root.text, list(root)) == (
        200,
        f"{{{NS}}}LocationConstraint",
        None,
        [],
    )


@pytest.mark.parametrize(
    ("operation", "params", "named"),
    [
        ("GetBucketPolicy", {}, "BucketPolicy"),
        ("PutBucketVersioning", {"VersioningConfiguration": {"Status": "Enabled"}}, "BucketVersioning"),
        ("GetObjectTagging", {"Key": "k"}, "Tagging"),
        ("GetObjectAcl", {"Key": "k"}, "Acl"),
        ("ListObjectVersions", {}, "ListObjectVersions"),
        ("GetBucketOwnershipControls", {}, "BucketOwnershipControls"),
        ("PutPublicAccessBlock", {"PublicAccessBlockConfiguration": {}}, "PublicAccessBlock"),
        ("GetObjectLockConfiguration", {}, "ObjectLockConfiguration"),
        ("RestoreObject", {"Key": "k"}, "RestoreObject"),
        ("CopyObject", {"Key": "copy", "CopySource": f"{BUCKET}/k"}, "CopyObject"),
    ],
)
def test_operations_outside_the_subset_are_not_implemented(
    env: Env, api: S3Api, operation: str, params: dict[str, Any], named: str
) -> None:
    send(env, api, "PutObject", Bucket=BUCKET, Key="k", Body=b"kept")
    result = send(env, api, operation, Bucket=BUCKET, **params)
    assert error_of(result) == ("NotImplemented", 501)
    assert named in result["Error"]["Message"]
    key = params.get("Key")
    assert result["Error"]["Resource"] == (f"/{BUCKET}/{key}" if key else f"/{BUCKET}")
    # Nothing was done.
    assert send(env, api, "GetObject", Bucket=BUCKET, Key="k")["Body"] == b"kept"
    assert error_of(send(env, api, "HeadObject", Bucket=BUCKET, Key="copy")) == ("404", 404)


def test_not_implemented_is_s3s_error_document(env: Env, api: S3Api) -> None:
    call = env.call(ACCOUNT)
    response = answer(api, call, starlette_request("GET", f"/{BUCKET}/a%20key", query="torrent"), b"")
    root = ET.fromstring(bytes(response.body))  # noqa: S314 - the server's own answer
    assert response.status_code == 501
    assert [(child.tag, child.text) for child in root] == [
        ("Code", "NotImplemented"),
        ("Message", "GET ?torrent (GetObjectTorrent) is not part of OpenTrail's S3 subset"),
        ("Resource", f"/{BUCKET}/a key"),
        ("RequestId", call.request_id),
    ]


def test_every_sub_resource_outside_the_subset_is_not_implemented() -> None:
    """Every ``?name`` of botocore's s3 model is served or named in ``subset.UNSUPPORTED``, so none
    falls through to another operation (``?ownershipControls`` read as a ListObjects, say)."""
    # Served, or (select-type) the second half of ?select&select-type=2.
    served = {"location", "uploads", "delete", "list-type", "select-type"}
    named = set()
    for name in S3.operation_names:
        query = S3.operation_model(name).http["requestUri"].partition("?")[2]
        named |= {part.partition("=")[0] for part in query.split("&") if part}
    assert named - served == set(UNSUPPORTED)


@pytest.mark.parametrize(
    ("params", "header"),
    [
        (
            {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32},
            "x-amz-server-side-encryption-customer",
        ),
        ({"ServerSideEncryption": "aws:kms"}, "x-amz-server-side-encryption"),
        ({"ObjectLockMode": "COMPLIANCE"}, "x-amz-object-lock-mode"),
        ({"IfNoneMatch": "*"}, "if-none-match"),
    ],
)
def test_a_header_asking_for_what_the_subset_cannot_do_is_refused(
    env: Env, api: S3Api, params: dict[str, str], header: str
) -> None:
    result = send(env, api, "PutObject", Bucket=BUCKET, Key="k", Body=b"x", **params)
    assert error_of(result) == ("NotImplemented", 501)
    assert result["Error"]["Message"] == "A header you provided implies functionality that is not implemented"
    assert result["Error"]["Header"].startswith(header)
    assert error_of(send(env, api, "HeadObject", Bucket=BUCKET, Key="k")) == ("404", 404)


def test_objects_are_encrypted_with_sse_s3_as_s3s_are(env: Env, api: S3Api) -> None:
    put = send(env, api, "PutObject", Bucket=BUCKET, Key="asked", Body=b"x", ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    send(env, api, "PutObject", Bucket=BUCKET, Key="default", Body=b"x")
    for key in ("asked", "default"):
        assert send(env, api, "HeadObject", Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
        assert send(env, api, "GetObject", Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
    refused = send(env, api, "PutObject", Bucket=BUCKET, Key="k", Body=b"x", ServerSideEncryption="AES128")
    assert error_of(refused) == ("InvalidArgument", 400)
    assert refused["Error"]["Message"] == "The encryption method specified is not supported"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/"),
        ("DELETE", "/"),
        ("POST", f"/{BUCKET}"),
        ("POST", f"/{BUCKET}/k"),
        ("PATCH", f"/{BUCKET}/k"),
    ],
)
def test_a_method_a_resource_does_not_take_is_not_allowed(
    env: Env, api: S3Api, method: str, path: str
) -> None:
    response = answer(api, env.call(ACCOUNT), starlette_request(method, path), b"")
    error = parsed("ListBuckets", response)
    assert error_of(error) == ("MethodNotAllowed", 405)
    assert error["Error"]["Message"] == "The specified method is not allowed against this resource."
    assert error["Error"]["Method"] == method


# -- the bucket store's failures in S3's words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("GetObject", {"Bucket": BUCKET, "Key": "missing"}, ("NoSuchKey", 404)),
        ("GetObject", {"Bucket": "no-such-bucket", "Key": "k"}, ("NoSuchBucket", 404)),
        ("ListObjectsV2", {"Bucket": "no-such-bucket"}, ("NoSuchBucket", 404)),
        ("PutObject", {"Bucket": "Not_A_Bucket", "Key": "k", "Body": b"x"}, ("InvalidBucketName", 400)),
        # Keys a filesystem cannot hold, which S3 could.
        ("PutObject", {"Bucket": BUCKET, "Key": "a//b", "Body": b"x"}, ("InvalidArgument", 400)),
        ("PutObject", {"Bucket": BUCKET, "Key": "file/below", "Body": b"x"}, ("InvalidArgument", 400)),
    ],
)
def test_bucket_store_failures_are_s3_errors_naming_bucket_and_key(
    env: Env, api: S3Api, operation: str, params: dict[str, Any], expected: tuple[str, int]
) -> None:
    send(env, api, "PutObject", Bucket=BUCKET, Key="file", Body=b"x")
    call = env.call(ACCOUNT)
    result = s3_call(api, call, operation, **params)
    assert error_of(result) == expected
    assert result["Error"]["BucketName"] == params["Bucket"]
    assert result["Error"].get("Key") == params.get("Key")
    assert result["ResponseMetadata"]["RequestId"] == call.request_id


def test_a_head_request_gets_the_status_alone(env: Env, api: S3Api) -> None:
    response = answer(api, env.call(ACCOUNT), starlette_request("HEAD", f"/{BUCKET}/missing"), b"")
    assert (response.status_code, response.body) == (404, b"")
    assert parsed("HeadObject", response)["Error"]["Code"] == "404"


def test_a_failing_bucket_store_is_unavailable_and_logged(
    env: Env, api: S3Api, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure of the store itself (here an SSE-KMS object the server has no master key to open) is
    S3's retryable ServiceUnavailable, and the operator's to see in the log."""
    LocalStorage(tmp_path / "buckets", MASTER).put_object(
        BUCKET, "sealed", b"x", sse=Encryption(SSE_KMS, KMS_KEY)
    )
    with caplog.at_level(logging.WARNING, logger="opentrail"):
        result = send(env, api, "GetObject", Bucket=BUCKET, Key="sealed")
    assert error_of(result) == ("ServiceUnavailable", 503)
    assert result["Error"]["Message"].startswith("the bucket store failed, retry: ")
    assert "bucket store failure" in caplog.text
