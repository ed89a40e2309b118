"""DeleteObject and DeleteObjects in the S3 subset (``server/s3/deletion.py``), through the router, with
bodies botocore builds and answers botocore reads: DeleteObjects needs its integrity header (S3's
InvalidRequest without one, BadDigest when it does not match), takes 1 to 1,000 keys (MalformedXML
otherwise), deletes each key on its own (a key that fails is an ``Error`` entry, the others are deleted),
leaves deleted keys out when ``Quiet``, and knows no version but ``null``."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.server.s3.router import S3Api
from tests.support.asgi import starlette_request
from tests.support.calls import Env
from tests.support.s3 import answer, error_of, parsed, s3_call, s3_request
from tests.support.services import open_env

ACCOUNT = "111122223333"
BUCKET = "trail-logs"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path)


@pytest.fixture
def api(env: Env) -> S3Api:
    api = S3Api()
    s3_call(api, env.call(ACCOUNT), "CreateBucket", Bucket=BUCKET)
    for key in ("a", "b/c", "d"):
        s3_call(api, env.call(ACCOUNT), "PutObject", Bucket=BUCKET, Key=key, Body=b"x")
    return api


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


def delete(
    env: Env, api: S3Api, objects: list[dict[str, str]], quiet: bool = False, **headers: str
) -> dict[str, Any]:
    """DeleteObjects with ``headers`` (by default, the Content-MD5 of the body)."""
    _, body = s3_request("DeleteObjects", Bucket=BUCKET, Delete={"Objects": objects, "Quiet": quiet})
    if not headers:
        headers = {"content-md5": content_md5(body)}
    request = starlette_request("POST", f"/{BUCKET}", query="delete", headers=headers, body=body)
    return parsed("DeleteObjects", answer(api, env.call(ACCOUNT), request, body))


def keys(env: Env) -> list[str]:
    return [o.key for o in env.services.storage.list_objects(BUCKET).objects]


def test_each_key_is_deleted_and_missing_keys_too(env: Env, api: S3Api) -> None:
    result = delete(env, api, [{"Key": "a"}, {"Key": "b/c"}, {"Key": "never-there"}])
    assert [d["Key"] for d in result["Deleted"]] == ["a", "b/c", "never-there"]
    assert "Errors" not in result
    assert keys(env) == ["d"]


def test_quiet_answers_only_the_failures(env: Env, api: S3Api) -> None:
    result = delete(
        env, api, [{"Key": "a"}, {"Key": "d", "VersionId": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}], True
    )
    assert "Deleted" not in result
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("d", "NoSuchVersion")]
    assert keys(env) == ["b/c", "d"]


def test_a_key_that_fails_is_an_error_entry_and_the_others_go(env: Env, api: S3Api) -> None:
    result = delete(env, api, [{"Key": "a//b"}, {"Key": "a"}, {"Key": "d", "VersionId": "null"}])
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("a//b", "InvalidArgument")]
    assert [(d["Key"], d.get("VersionId")) for d in result["Deleted"]] == [("a", None), ("d", "null")]
    assert keys(env) == ["b/c"]


def test_a_flexible_checksum_serves_as_the_integrity_header(env: Env, api: S3Api) -> None:
    _, body = s3_request("DeleteObjects", Bucket=BUCKET, Delete={"Objects": [{"Key": "a"}], "Quiet": False})
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert [
        d["Key"] for d in delete(env, api, [{"Key": "a"}], **{"x-amz-checksum-crc32": crc})["Deleted"]
    ] == ["a"]


@pytest.mark.parametrize(
    ("headers", "expected", "message"),
    [
        (
            {"content-type": "application/xml"},
            ("InvalidRequest", 400),
            "Missing required header for this request: Content-MD5",
        ),
        ({"content-md5": content_md5(b"another body")}, ("BadDigest", 400), None),
    ],
)
def test_the_body_must_carry_its_integrity(
    env: Env, api: S3Api, headers: dict[str, str], expected: tuple[str, int], message: str | None
) -> None:
    result = delete(env, api, [{"Key": "a"}], **headers)
    assert error_of(result) == expected
    if message is not None:
        assert result["Error"]["Message"] == message
    assert keys(env) == ["a", "b/c", "d"]


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete/>",
        b"<Delete><Object><VersionId>null</VersionId></Object></Delete>",
        b"<Remove><Object><Key>a</Key></Object></Remove>",
        b"<Delete>" + b"<Object><Key>a</Key></Object>" * 1001 + b"</Delete>",
        b"<Delete><Object>",
    ],
)
def test_a_body_that_is_no_delete_of_1_to_1000_keys_is_malformed(env: Env, api: S3Api, body: bytes) -> None:
    request = starlette_request(
        "POST", f"/{BUCKET}", query="delete", headers={"content-md5": content_md5(body)}, body=body
    )
    result = parsed("DeleteObjects", answer(api, env.call(ACCOUNT), request, body))
    assert error_of(result) == ("MalformedXML", 400)
    assert keys(env) == ["a", "b/c", "d"]


def test_another_accounts_bucket_is_denied(env: Env, api: S3Api) -> None:
    env.store.add_bucket("theirs", "444455556666")
    env.services.storage.create_bucket("theirs")
    _, body = s3_request("DeleteObjects", Bucket="theirs", Delete={"Objects": [{"Key": "a"}]})
    request = starlette_request(
        "POST", "/theirs", query="delete", headers={"content-md5": content_md5(body)}, body=body
    )
    assert error_of(parsed("DeleteObjects", answer(api, env.call(ACCOUNT), request, body))) == (
        "AccessDenied",
        403,
    )
