"""ListMultipartUploads and ListParts (``server/s3/multipart/listing.py``), read by botocore's parser:
uploads by key then start time, paged by ``key-marker`` and ``upload-id-marker`` so that following
``NextKeyMarker``/``NextUploadIdMarker`` visits each upload once, folded by ``delimiter`` into common
prefixes that count once, url-encoded on request; parts paged by ``part-number-marker``; bad counts in
S3's words."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest

from opentrail.errors import S3Error
from opentrail.server.s3.multipart.listing import parts_result, uploads_result
from opentrail.server.s3.multipart.records import PartRecord, Upload, UploadRecord, new_upload_id
from opentrail.server.s3.responses import xml_response
from tests.support.s3 import parsed

ACCOUNT = "111122223333"
BUCKET = "uploads"
START = 1_704_067_200.0
KEYS = ["a/1", "a/2", "b", "b", "b", "c/d/e", "c/x", "caf\u00e9 +&"]


def uploads() -> list[Upload]:
    made = [
        Upload(ACCOUNT, BUCKET, new_upload_id(START + i, f"{i:020x}"), UploadRecord(key, "x/y", {}, "arn"))
        for i, key in enumerate(KEYS)
    ]
    return sorted(made, key=lambda u: (u.key, u.upload_id))


def listed(**query: str) -> dict[str, Any]:
    return parsed("ListMultipartUploads", xml_response(uploads_result(BUCKET, ACCOUNT, uploads(), query)))


def walk(**query: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Every page, following the markers: (key, upload id) of each upload and each common prefix."""
    seen: list[tuple[str, str]] = []
    prefixes: list[str] = []
    while True:
        page = listed(**query)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            return seen, prefixes
        query = {**query, "key-marker": page["NextKeyMarker"], "upload-id-marker": page["NextUploadIdMarker"]}


def test_uploads_come_by_key_then_start_time() -> None:
    page = listed()
    assert [(u["Key"], u["UploadId"]) for u in page["Uploads"]] == [(u.key, u.upload_id) for u in uploads()]
    first = page["Uploads"][0]
    assert first["Initiated"].timestamp() == START
    assert (first["StorageClass"], first["Owner"]["ID"], first["Initiator"]["ID"]) == (
        "STANDARD",
        ACCOUNT,
        "arn",
    )
    assert (page["Bucket"], page["MaxUploads"], page["IsTruncated"]) == (BUCKET, 1000, False)


@pytest.mark.parametrize("size", ["1", "2", "3", "7"])
def test_pages_visit_each_upload_once(size: str) -> None:
    seen, _ = walk(**{"max-uploads": size})
    assert seen == [(u.key, u.upload_id) for u in uploads()]


def test_a_key_marker_alone_skips_every_upload_of_that_key() -> None:
    assert [u["Key"] for u in listed(**{"key-marker": "b"})["Uploads"]] == ["c/d/e", "c/x", "caf\u00e9 +&"]


def test_a_delimiter_folds_keys_into_common_prefixes_that_count_once() -> None:
    seen, prefixes = walk(delimiter="/", **{"max-uploads": "1"})
    assert [key for key, _ in seen] == ["b", "b", "b", "caf\u00e9 +&"]
    assert prefixes == ["a/", "c/"]
    seen, prefixes = walk(delimiter="/", prefix="c/")
    assert ([key for key, _ in seen], prefixes) == (["c/x"], ["c/d/"])


def test_url_encoding_is_s3s() -> None:
    page = listed(**{"encoding-type": "url", "prefix": "caf"})
    # As S3 encodes, for clients that decode with unquote_plus (botocore does so for ListObjects).
    assert [u["Key"] for u in page["Uploads"]] == ["caf%C3%A9+%2B%26"]
    assert unquote_plus(page["Uploads"][0]["Key"]) == "caf\u00e9 +&"
    assert page["EncodingType"] == "url"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"max-uploads": "x"}, "Provided max-uploads not an integer or within integer range"),
        ({"max-uploads": "2147483648"}, "Provided max-uploads not an integer or within integer range"),
        ({"max-uploads": "-1"}, "Argument max-uploads must be an integer between 0 and 2147483647"),
        ({"encoding-type": "base64"}, "Invalid Encoding Method specified in Request"),
    ],
)
def test_bad_parameters_are_invalid_arguments(query: dict[str, str], message: str) -> None:
    with pytest.raises(S3Error) as caught:
        listed(**query)
    assert (caught.value.s3_code, caught.value.s3_status, str(caught.value)) == (
        "InvalidArgument",
        400,
        message,
    )


def test_parts_page_by_part_number_marker() -> None:
    upload = uploads()[0]
    parts = [PartRecord(n, n * 10, f"{n:032x}", START + n, f"part-{n}.data") for n in (1, 2, 5, 9)]
    numbers: list[int] = []
    query: dict[str, str] = {"max-parts": "3"}
    while True:
        page = parsed("ListParts", xml_response(parts_result(upload, parts, query)))
        numbers += [p["PartNumber"] for p in page["Parts"]]
        if not page["IsTruncated"]:
            break
        query = {**query, "part-number-marker": str(page["NextPartNumberMarker"])}
    assert numbers == [1, 2, 5, 9]
    with pytest.raises(S3Error, match="Provided part-number-marker not an integer"):
        parts_result(upload, parts, {"part-number-marker": "one"})
