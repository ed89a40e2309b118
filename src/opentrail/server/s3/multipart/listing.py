"""ListMultipartUploads and ListParts: their query parameters, pages and XML, as S3 answers them
(botocore's ``ListMultipartUploadsOutput`` and ``ListPartsOutput``).

Uploads are listed by key, then by start time (the order of their ids, ``records``). ``key-marker``
resumes after a key; with ``upload-id-marker`` too, after that upload of that key. A ``delimiter``
folds the keys that share a prefix up to it into one ``CommonPrefixes`` entry, which counts once
toward ``max-uploads``, as in ListObjects.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import quote_plus

from opentrail.errors import S3Error
from opentrail.server.s3.listing import NS, iso_time
from opentrail.server.s3.multipart.records import PartRecord, Upload

MAX_ITEMS = 1000
_INT_MAX = 2**31 - 1
_INTEGER = re.compile(r"^-?[0-9]{1,10}$")


def uploads_result(bucket: str, account: str, uploads: list[Upload], query: dict[str, str]) -> ET.Element:
    """The ListMultipartUploadsResult for ``uploads`` (one account's, of one bucket, in order)."""
    enc = _encoder(query)
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    key_marker = query.get("key-marker", "")
    # S3 ignores upload-id-marker without key-marker.
    id_marker = query.get("upload-id-marker", "") if key_marker else ""
    limit = _count(query, "max-uploads")
    listed: list[Upload | str] = []  # uploads, and common prefixes (str)
    truncated = False
    for upload in uploads:
        key = upload.key
        if not key.startswith(prefix) or (key, upload.upload_id) <= (key_marker, id_marker or "\uffff"):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        common = key[: cut + len(delimiter)] if cut >= 0 else None
        if common is not None and (key_marker.startswith(common) or (listed and listed[-1] == common)):
            continue  # a prefix an earlier page (or this one) already gave
        if len(listed) >= limit:
            truncated = True
            break
        listed.append(common if common is not None else upload)
    root = ET.Element("ListMultipartUploadsResult", xmlns=NS)
    _add(root, "Bucket", bucket)
    _add(root, "KeyMarker", enc(key_marker))
    _add(root, "UploadIdMarker", id_marker)
    if truncated:
        last = listed[-1]
        _add(root, "NextKeyMarker", enc(last if isinstance(last, str) else last.key))
        _add(root, "NextUploadIdMarker", "" if isinstance(last, str) else last.upload_id)
    if delimiter:
        _add(root, "Delimiter", enc(delimiter))
    _add(root, "Prefix", enc(prefix))
    _add(root, "MaxUploads", str(limit))
    _add(root, "IsTruncated", "true" if truncated else "false")
    for item in listed:
        if isinstance(item, str):
            _add(ET.SubElement(root, "CommonPrefixes"), "Prefix", enc(item))
            continue
        entry = ET.SubElement(root, "Upload")
        _add(entry, "Key", enc(item.key))
        _add(entry, "UploadId", item.upload_id)
        _people(entry, account, item.record.initiator)
        _add(entry, "StorageClass", "STANDARD")
        _add(entry, "Initiated", iso_time(item.initiated))
    if "encoding-type" in query:
        _add(root, "EncodingType", "url")
    return root


def parts_result(upload: Upload, parts: list[PartRecord], query: dict[str, str]) -> ET.Element:
    """The ListPartsResult for the upload's ``parts`` (in number order)."""
    marker = _count(query, "part-number-marker", default=0, most=_INT_MAX)
    limit = _count(query, "max-parts")
    after = [part for part in parts if part.number > marker]
    page, truncated = after[:limit], len(after) > limit
    root = ET.Element("ListPartsResult", xmlns=NS)
    _add(root, "Bucket", upload.bucket)
    _add(root, "Key", upload.key)
    _add(root, "UploadId", upload.upload_id)
    _people(root, upload.account, upload.record.initiator)
    _add(root, "StorageClass", "STANDARD")
    _add(root, "PartNumberMarker", str(marker))
    if page:
        _add(root, "NextPartNumberMarker", str(page[-1].number))
    _add(root, "MaxParts", str(limit))
    _add(root, "IsTruncated", "true" if truncated else "false")
    for part in page:
        entry = ET.SubElement(root, "Part")
        _add(entry, "PartNumber", str(part.number))
        _add(entry, "LastModified", iso_time(part.modified))
        _add(entry, "ETag", f'"{part.md5}"')
        _add(entry, "Size", str(part.size))
    return root


def _count(query: dict[str, str], name: str, default: int = MAX_ITEMS, most: int = MAX_ITEMS) -> int:
    """A count parameter in S3's words: an integer from 0 to 2**31 - 1, capped at ``most``."""
    text = query.get(name)
    if text is None:
        return default
    if not _INTEGER.match(text) or int(text) > _INT_MAX:
        message = f"Provided {name} not an integer or within integer range"
    elif int(text) < 0:
        message = f"Argument {name} must be an integer between 0 and {_INT_MAX}"
    else:
        return min(int(text), most)
    raise S3Error("InvalidArgument", 400, message, ArgumentName=name, ArgumentValue=text[:100])


def _encoder(query: dict[str, str]) -> Callable[[str], str]:
    encoding = query.get("encoding-type")
    if encoding is None:
        return lambda value: value
    if encoding != "url":
        raise S3Error(
            "InvalidArgument",
            400,
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding[:100],
        )
    # botocore decodes these fields with unquote_plus, as S3 encodes them.
    return lambda value: quote_plus(value, safe="/")


def _people(parent: ET.Element, account: str, initiator: str) -> None:
    who = ET.SubElement(parent, "Initiator")
    _add(who, "ID", initiator)
    _add(who, "DisplayName", initiator.rsplit(":", 1)[-1])
    owner = ET.SubElement(parent, "Owner")
    _add(owner, "ID", account)
    _add(owner, "DisplayName", account)


def _add(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text
