"""CompleteMultipartUpload's rules: the part list it sends, which stored parts it picks, and S3's ETag of
the object they make.

S3's rules, in its words: the list names each part once, in ascending order (``InvalidPartOrder``);
each part was uploaded and, when the list gives its ETag, is that part (``InvalidPart``); every part
but the last is at least 5 MiB (``EntityTooSmall``). The object's ETag is not the MD5 of its bytes but
the MD5 of the parts' binary MD5s joined, then ``-`` and the number of parts, as S3 computes it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from opentrail.errors import S3Error
from opentrail.server.s3.multipart.records import PartRecord
from opentrail.server.s3.responses import parse_xml

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000

_MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def listed_parts(body: bytes) -> list[tuple[int, str | None]]:
    """(part number, ETag without quotes or None) for each ``Part`` of a CompleteMultipartUpload body."""
    root = parse_xml(body, "CompleteMultipartUpload")
    if _local(root.tag) != "CompleteMultipartUpload":
        raise S3Error("MalformedXML", 400, _MALFORMED)
    listed: list[tuple[int, str | None]] = []
    for part in root:
        if _local(part.tag) != "Part":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in part}
        number = fields.get("PartNumber", "")
        if not (number.isascii() and number.isdigit()) or len(number) > 5:
            raise S3Error("MalformedXML", 400, _MALFORMED)
        etag = fields.get("ETag")
        listed.append((int(number), etag.strip('"') if etag is not None else None))
    if not listed or len(listed) > MAX_PARTS:
        raise S3Error("MalformedXML", 400, _MALFORMED)
    return listed


def choose(listed: list[tuple[int, str | None]], stored: dict[int, PartRecord]) -> list[PartRecord]:
    """The stored parts the list names, in order; S3's error for the first rule the list breaks."""
    chosen: list[PartRecord] = []
    for index, (number, etag) in enumerate(listed):
        if index and number <= listed[index - 1][0]:
            raise S3Error(
                "InvalidPartOrder",
                400,
                "The list of parts was not in ascending order. The parts list must be specified in order "
                "by part number.",
            )
        part = stored.get(number)
        if part is None or (etag is not None and etag != part.md5):
            raise S3Error(
                "InvalidPart",
                400,
                "One or more of the specified parts could not be found.  The part may not have been "
                "uploaded, or the specified entity tag may not match the part's entity tag.",
                PartNumber=str(number),
                ETag=etag or "",
            )
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise S3Error(
                "EntityTooSmall",
                400,
                "Your proposed upload is smaller than the minimum allowed size",
                ProposedSize=str(part.size),
                MinSizeAllowed=str(MIN_PART_SIZE),
                PartNumber=str(part.number),
                ETag=part.md5,
            )
    return chosen


def multipart_etag(parts: list[PartRecord]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(part.md5) for part in parts), usedforsecurity=False)
    return f"{digest.hexdigest()}-{len(parts)}"


def concatenate(folder: Path, parts: list[PartRecord], target: Path) -> None:
    """The parts' bytes, one after the other, into ``target`` (streamed: never all in memory)."""
    with target.open("wb") as out:
        for part in parts:
            with (folder / part.data).open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
