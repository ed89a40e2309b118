"""S3 listings (``server/s3/listing.py``) over a real local bucket store, read back with botocore's own
rest-xml parser: ListObjectsV2 continuation tokens and ListObjects markers walk every key once in UTF-8
byte order, a delimiter folds keys into common prefixes that count toward max-keys, and bad listing
parameters are InvalidArgument."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import botocore.session
import pytest
from botocore.parsers import create_parser

from opentrail.errors import ListError
from opentrail.server.s3.listing import list_objects
from opentrail.storage import LocalStorage

BUCKET = "listed"
KEYS = ["AWSLogs/a/1.json.gz", "AWSLogs/a/2.json.gz", "AWSLogs/b/1.json.gz", "B", "a b+c", "z", "é"]
S3 = botocore.session.get_session().get_service_model("s3")


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket(BUCKET)
    for key in KEYS:
        storage.put_object(BUCKET, key, key.encode())
    return storage


def listed(storage: LocalStorage, operation: str, **query: str) -> dict[str, Any]:
    if operation == "ListObjectsV2":
        query["list-type"] = "2"
    body = ET.tostring(list_objects(storage, BUCKET, query))
    shape = S3.operation_model(operation).output_shape
    parsed: dict[str, Any] = create_parser("rest-xml").parse(
        {"status_code": 200, "headers": {}, "body": body}, shape
    )
    return parsed


def keys(page: dict[str, Any]) -> list[str]:
    return [item["Key"] for item in page.get("Contents", [])]


def prefixes(page: dict[str, Any]) -> list[str]:
    return [item["Prefix"] for item in page.get("CommonPrefixes", [])]


def utf8_order(values: list[str]) -> list[str]:
    return sorted(values, key=lambda value: value.encode())


def test_v2_pages_walk_every_key_once_in_byte_order(storage: LocalStorage) -> None:
    seen: list[str] = []
    query: dict[str, str] = {"max-keys": "2"}
    while True:
        page = listed(storage, "ListObjectsV2", **query)
        assert page["KeyCount"] == len(page.get("Contents", [])) <= 2
        seen += keys(page)
        if not page["IsTruncated"]:
            break
        query = {"max-keys": "2", "continuation-token": page["NextContinuationToken"]}
    assert seen == utf8_order(KEYS)


def test_v1_pages_by_marker(storage: LocalStorage) -> None:
    first = listed(storage, "ListObjects", **{"max-keys": "3"})
    assert keys(first) == utf8_order(KEYS)[:3]
    assert first["IsTruncated"]
    assert first["NextMarker"] == keys(first)[-1]
    rest = listed(storage, "ListObjects", marker=first["NextMarker"])
    assert keys(rest) == utf8_order(KEYS)[3:]
    assert not rest["IsTruncated"]


def test_a_delimiter_folds_keys_into_common_prefixes(storage: LocalStorage) -> None:
    top = listed(storage, "ListObjectsV2", delimiter="/")
    assert prefixes(top) == ["AWSLogs/"]
    assert keys(top) == utf8_order(["B", "a b+c", "z", "é"])
    inside = listed(storage, "ListObjectsV2", delimiter="/", prefix="AWSLogs/")
    assert (prefixes(inside), keys(inside)) == (["AWSLogs/a/", "AWSLogs/b/"], [])


def test_common_prefixes_count_toward_max_keys(storage: LocalStorage) -> None:
    first = listed(storage, "ListObjectsV2", delimiter="/", prefix="AWSLogs/", **{"max-keys": "1"})
    assert (prefixes(first), first["KeyCount"], first["IsTruncated"]) == (["AWSLogs/a/"], 1, True)
    second = listed(
        storage,
        "ListObjectsV2",
        delimiter="/",
        prefix="AWSLogs/",
        **{"max-keys": "1", "continuation-token": first["NextContinuationToken"]},
    )
    assert (prefixes(second), second["IsTruncated"]) == (["AWSLogs/b/"], False)


def test_a_marker_inside_a_common_prefix_skips_the_rest_of_it(storage: LocalStorage) -> None:
    page = listed(storage, "ListObjects", delimiter="/", marker="AWSLogs/a/1.json.gz")
    assert prefixes(page) == []
    assert keys(page) == utf8_order(["B", "a b+c", "z", "é"])


def test_a_prefix_and_start_after(storage: LocalStorage) -> None:
    page = listed(storage, "ListObjectsV2", prefix="AWSLogs/a/", **{"start-after": "AWSLogs/a/1.json.gz"})
    assert keys(page) == ["AWSLogs/a/2.json.gz"]
    assert page["StartAfter"] == "AWSLogs/a/1.json.gz"


def test_url_encoding_is_what_botocore_decodes(storage: LocalStorage) -> None:
    page = listed(storage, "ListObjectsV2", **{"encoding-type": "url"})
    assert page["EncodingType"] == "url"
    # botocore's S3 client decodes these with unquote_plus.
    assert [unquote_plus(key) for key in keys(page)] == utf8_order(KEYS)
    assert "a+b%2Bc" in keys(page)


def test_objects_carry_size_etag_and_class(storage: LocalStorage) -> None:
    (item,) = listed(storage, "ListObjectsV2", prefix="z")["Contents"]
    assert (item["Size"], item["StorageClass"]) == (1, "STANDARD")
    assert item["ETag"] == '"fbade9e36a3f36d3d676c1b808451dd7"'  # the MD5 of b"z"


def test_max_keys_is_capped_at_1000(storage: LocalStorage) -> None:
    assert listed(storage, "ListObjectsV2", **{"max-keys": "5000"})["MaxKeys"] == 1000


@pytest.mark.parametrize(
    "query",
    [
        {"max-keys": "-1"},
        {"max-keys": "ten"},
        {"max-keys": "\u00b2"},  # a digit to str.isdigit, none to int()
        {"encoding-type": "base64"},
        {"continuation-token": "not a token"},
    ],
)
def test_bad_listing_parameters_are_invalid_argument(storage: LocalStorage, query: dict[str, str]) -> None:
    with pytest.raises(ListError) as caught:
        list_objects(storage, BUCKET, {"list-type": "2", **query})
    assert (caught.value.code, caught.value.status) == ("InvalidArgument", 400)


def test_a_token_of_characters_outside_base64_is_refused(storage: LocalStorage) -> None:
    with pytest.raises(ListError):
        list_objects(storage, BUCKET, {"list-type": "2", "continuation-token": "%%%%"})
