"""S3's ListObjects (v1, with Marker) and ListObjectsV2 (with continuation tokens) over a ``Storage``.

validate-logs pages v1 with ``NextMarker`` and relies on lexicographic order; `aws s3 ls` uses v2 with a
delimiter. Runs blocking storage calls: call it from a thread.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote_plus

from opentrail.errors import ListError
from opentrail.storage import ObjectInfo, Storage

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
MAX_KEYS = 1000
# Sorts after every key with a given prefix (UTF-8 byte order): skips the rest of a common prefix.
_AFTER_ALL = "\U0010ffff"


@dataclass
class Page:
    contents: list[ObjectInfo]
    prefixes: list[str]
    truncated: bool

    @property
    def last(self) -> str:
        """The greatest key or common prefix on the page: where the next page starts."""
        return max([*(o.key for o in self.contents), *self.prefixes], default="")


def collect(storage: Storage, bucket: str, prefix: str, after: str, delimiter: str, max_keys: int) -> Page:
    """Up to ``max_keys`` keys and common prefixes after ``after``, as S3 counts them."""
    page = Page([], [], False)
    while True:
        listing = storage.list_objects(bucket, prefix, after, MAX_KEYS)
        restart = False
        for obj in listing.objects:
            rest = obj.key[len(prefix) :]
            cut = rest.find(delimiter) if delimiter else -1
            common = prefix + rest[: cut + len(delimiter)] if cut >= 0 else None
            if common is not None and after.startswith(common):
                # The marker lies inside this prefix, which an earlier page already returned.
                after, restart = common + _AFTER_ALL, True
                break
            if len(page.contents) + len(page.prefixes) >= max_keys:
                page.truncated = True
                return page
            if common is None:
                page.contents.append(obj)
                after = obj.key
                continue
            page.prefixes.append(common)
            after, restart = common + _AFTER_ALL, True
            break
        if not restart and not listing.truncated:
            return page


def iso_time(epoch: float) -> str:
    """S3's XML timestamps: ISO 8601 UTC with milliseconds and Z."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _max_keys(query: dict[str, str]) -> int:
    text = query.get("max-keys", str(MAX_KEYS))
    if not (text.isascii() and text.isdigit()):
        raise ListError(f"max-keys must be a non-negative integer, got {text!r}")
    return min(int(text), MAX_KEYS)


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _untoken(token: str) -> str:
    refused = ListError(f"the continuation token {token[:40]!r} is not one this server issued")
    try:
        key = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    # The decoder skips characters outside its alphabet ('%%%%' decodes to the empty key): only the
    # spelling this server issues is a token.
    if _token(key) != token:
        raise refused
    return key


def list_objects(storage: Storage, bucket: str, query: dict[str, str]) -> ET.Element:
    """The ListBucketResult for a v1 or v2 (``list-type=2``) request's query parameters."""
    v2 = query.get("list-type") == "2"
    encoding = query.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise ListError(f"encoding-type must be url, got {encoding!r}")

    def enc(value: str) -> str:
        # botocore decodes these fields with unquote_plus, as S3 encodes them.
        return quote_plus(value, safe="/") if encoding else value

    prefix, delimiter, max_keys = query.get("prefix", ""), query.get("delimiter", ""), _max_keys(query)
    token = query.get("continuation-token")
    # v2 resumes from its own token, else StartAfter; v1 from Marker.
    start_after = query.get("start-after", "")
    after = (_untoken(token) if token else start_after) if v2 else query.get("marker", "")
    page = collect(storage, bucket, prefix, after, delimiter, max_keys)

    root = ET.Element("ListBucketResult", xmlns=NS)

    def add(parent: ET.Element, tag: str, text: str) -> None:
        ET.SubElement(parent, tag).text = text

    add(root, "Name", bucket)
    add(root, "Prefix", enc(prefix))
    if v2:
        if token:
            add(root, "ContinuationToken", token)
        if "start-after" in query:
            add(root, "StartAfter", enc(query["start-after"]))
        add(root, "KeyCount", str(len(page.contents) + len(page.prefixes)))
    else:
        add(root, "Marker", enc(after))
    add(root, "MaxKeys", str(max_keys))
    if delimiter:
        add(root, "Delimiter", enc(delimiter))
    if encoding:
        add(root, "EncodingType", encoding)
    add(root, "IsTruncated", "true" if page.truncated else "false")
    if page.truncated:
        if v2:
            add(root, "NextContinuationToken", _token(page.last))
        else:
            add(root, "NextMarker", enc(page.last))
    for obj in page.contents:
        item = ET.SubElement(root, "Contents")
        add(item, "Key", enc(obj.key))
        add(item, "LastModified", iso_time(obj.last_modified))
        add(item, "ETag", f'"{obj.etag}"')
        add(item, "Size", str(obj.size))
        add(item, "StorageClass", "STANDARD")
    for common in page.prefixes:
        add(ET.SubElement(root, "CommonPrefixes"), "Prefix", enc(common))
    return root
