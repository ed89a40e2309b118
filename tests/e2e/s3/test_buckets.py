"""What AWS clients and cleanup code call on buckets and objects, against the real server through boto3
and the AWS CLI: ``aws s3 rm --recursive`` (DeleteObjects) and ``aws s3 rb`` (DeleteBucket, refused
with BucketNotEmpty while anything is left), ListBuckets with each bucket's creation date, objects
reported encrypted with SSE-S3 as S3 reports them, and S3's NotImplemented for what the subset leaves
out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Credentials, Server

Client = Callable[[Server, Credentials], Any]


def bucket_name() -> str:
    return f"bk-{uuid.uuid4().hex[:20]}"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(server: Server, account: Credentials, s3_client: Client) -> Any:
    return s3_client(server, account)


def test_aws_s3_rm_recursive_then_rb(server: Server, account: Credentials, tmp_path: Path) -> None:
    bucket = bucket_name()
    assert server.aws("s3", "mb", f"s3://{bucket}", creds=account).returncode == 0
    for relative in ("a/1.json", "a/b/2.json", "3.json"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    assert (
        server.aws("s3", "cp", "--recursive", str(tmp_path), f"s3://{bucket}/", creds=account).returncode == 0
    )
    refused = server.aws("s3", "rb", f"s3://{bucket}", creds=account)
    assert refused.returncode != 0
    assert "BucketNotEmpty" in refused.stderr
    assert "The bucket you tried to delete is not empty" in refused.stderr
    removed = server.aws("s3", "rm", "--recursive", f"s3://{bucket}/", creds=account)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.count("delete:") == 3
    deleted = server.aws("s3", "rb", f"s3://{bucket}", creds=account)
    assert deleted.returncode == 0, deleted.stderr
    listed = server.aws("s3", "ls", creds=account)
    assert bucket not in listed.stdout


def test_aws_s3_rb_force_empties_and_deletes(server: Server, account: Credentials, s3: Any) -> None:
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    for key in ("x", "y/z"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"data")
    s3.create_multipart_upload(Bucket=bucket, Key="in-progress")
    forced = server.aws("s3", "rb", "--force", f"s3://{bucket}", creds=account)
    assert forced.returncode == 0, forced.stderr
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=bucket)
    assert error_of(exc) == ("404", 404)
    # S3 discards a deleted bucket's uploads in progress.
    assert not list((server.data_dir / "uploads" / account.account_id).glob(f"{bucket}/*"))


def test_delete_objects_reports_each_key(s3: Any) -> None:
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "missing"}, {"Key": "b", "VersionId": "v1"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "missing"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("b", "NoSuchVersion")]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert "Errors" not in quiet
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_bucket_in_s3s_words_and_the_name_is_free_again(
    server: Server, s3: Any, s3_client: Client
) -> None:
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="kept", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(exc) == ("BucketNotEmpty", 409)
    assert exc.value.response["Error"]["Message"] == "The bucket you tried to delete is not empty"
    assert exc.value.response["Error"]["BucketName"] == bucket
    other = s3_client(server, server.new_account())
    with pytest.raises(ClientError) as exc:
        other.delete_bucket(Bucket=bucket)
    assert error_of(exc) == ("AccessDenied", 403)
    s3.delete_object(Bucket=bucket, Key="kept")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(exc) == ("NoSuchBucket", 404)
    other.create_bucket(Bucket=bucket)  # the name is free for anyone again
    assert bucket in [b["Name"] for b in other.list_buckets()["Buckets"]]


def test_list_buckets_tells_when_each_was_created(server: Server, account: Credentials, s3: Any) -> None:
    before = time.time()
    by_api = bucket_name()
    s3.create_bucket(Bucket=by_api)
    by_cli = bucket_name()
    server.create_bucket(by_cli, account)
    listed = {b["Name"]: b["CreationDate"].timestamp() for b in s3.list_buckets()["Buckets"]}
    for name in (by_api, by_cli):
        assert before - 1 <= listed[name] <= time.time() + 1
    ls = server.aws("s3", "ls", creds=account)
    assert time.strftime("%Y-%m-%d", time.localtime(listed[by_api])) in ls.stdout


def test_objects_are_reported_encrypted_with_sse_s3(s3: Any) -> None:
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key="asked", Body=b"x", ServerSideEncryption="AES256")
    assert put["ServerSideEncryption"] == "AES256"
    s3.put_object(Bucket=bucket, Key="by-default", Body=b"x")
    for key in ("asked", "by-default"):
        assert s3.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"
        assert s3.get_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="kms", Body=b"x", ServerSideEncryption="aws:kms")
    assert error_of(exc) == ("NotImplemented", 501)
    assert exc.value.response["Error"]["Header"] == "x-amz-server-side-encryption"


def test_what_the_subset_leaves_out_is_not_implemented_in_s3s_shape(s3: Any) -> None:
    bucket = bucket_name()
    s3.create_bucket(Bucket=bucket)
    for call in (
        lambda: s3.get_bucket_ownership_controls(Bucket=bucket),
        lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
        lambda: s3.get_object_tagging(Bucket=bucket, Key="k"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == ("NotImplemented", 501)
        error = exc.value.response["Error"]
        assert error["Resource"] in (f"/{bucket}", f"/{bucket}/k")
        assert exc.value.response["ResponseMetadata"]["RequestId"]
