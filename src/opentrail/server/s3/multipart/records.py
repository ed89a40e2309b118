"""What is kept of a multipart upload in progress: its record, its parts' records, its id, and what each
counts against its account's quota.

An upload id is the upload's start time in milliseconds (12 hex digits) followed by 80 random bits (20
hex digits): ids of one key sort by start time, which is the order ListMultipartUploads answers in and
the order its ``upload-id-marker`` pages by, and the expiry sweep reads an upload's age from its folder's
name alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from opentrail.errors import S3Error

ID = re.compile(r"^[0-9a-f]{32}$")
# Every file takes whole blocks, and every record file one at least: what the quota counts is the disk an
# account's uploads hold, so a flood of empty uploads or one-byte parts is bounded like large ones.
BLOCK = 4096
UPLOAD_CHARGE = 2 * BLOCK  # an upload's folder and its record


class UploadRecord(msgspec.Struct, frozen=True):
    """What the upload will become, as CreateMultipartUpload said."""

    key: str
    content_type: str
    metadata: dict[str, str]
    initiator: str  # the ARN of the principal that started it


class PartRecord(msgspec.Struct, frozen=True):
    """One uploaded part: its data file in the upload's folder, and what ListParts tells of it."""

    number: int
    size: int
    md5: str  # hex, the part's ETag
    modified: float  # epoch seconds
    data: str  # the data file's name


@dataclass(frozen=True, slots=True)
class Upload:
    account: str
    bucket: str
    upload_id: str
    record: UploadRecord

    @property
    def key(self) -> str:
        return self.record.key

    @property
    def initiated(self) -> float:
        return started(self.upload_id)


def new_upload_id(now: float, random_hex: str) -> str:
    return f"{int(now * 1000):012x}{random_hex[:20]}"


def started(upload_id: str) -> float:
    """When the upload with this id started (epoch seconds)."""
    return int(upload_id[:12], 16) / 1000


def part_charge(size: int) -> int:
    """What a part of ``size`` bytes counts against the quota: its data in whole blocks, and its record."""
    return -(-size // BLOCK) * BLOCK + BLOCK


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        "NoSuchUpload",
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        UploadId=upload_id,
    )
