"""The target of a path-style S3 request (``server/s3/target.py``): bucket, key and query from the path
as sent, percent-decoded exactly once, so keys holding '%2F' or '%25' survive (reference §1.6)."""

from __future__ import annotations

import pytest

from opentrail.errors import S3Error
from opentrail.server.s3.target import S3Target, target_of
from tests.support.asgi import starlette_request


@pytest.mark.parametrize(
    ("raw_path", "bucket", "key"),
    [
        ("/", "", ""),
        ("/my-bucket", "my-bucket", ""),
        ("/my-bucket/", "my-bucket", ""),
        (
            "/my-bucket/AWSLogs/111122223333/CloudTrail/f.json.gz",
            "my-bucket",
            "AWSLogs/111122223333/CloudTrail/f.json.gz",
        ),
        ("/my-bucket/a%20b", "my-bucket", "a b"),
        ("/my-bucket/a%2Fb", "my-bucket", "a/b"),
        ("/my-bucket/100%2525", "my-bucket", "100%25"),  # decoded once: %2525 is the key's "%25"
        ("/my-bucket/caf%C3%A9", "my-bucket", "café"),
        ("/my-bucket/a+b", "my-bucket", "a+b"),  # '+' is a plus in a path, not a space
        ("/my-bucket//double", "my-bucket", "/double"),
    ],
)
def test_bucket_and_key_from_the_path(raw_path: str, bucket: str, key: str) -> None:
    assert target_of(starlette_request("GET", raw_path)) == S3Target(bucket, key, {})


def test_the_query_keeps_blank_values() -> None:
    request = starlette_request("GET", "/my-bucket", query="list-type=2&prefix=a%2Fb&delimiter=%2F&uploads")
    assert target_of(request).query == {"list-type": "2", "prefix": "a/b", "delimiter": "/", "uploads": ""}


def test_a_path_that_is_not_utf8_once_decoded() -> None:
    with pytest.raises(S3Error) as caught:
        target_of(starlette_request("GET", "/my-bucket/%FF"))
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidURI", 400)
