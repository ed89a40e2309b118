"""The AWS CLI's own logic for reading digests (awscli/customizations/cloudtrail/validation.py), copied,
so tests check OpenTrail's files the way ``aws cloudtrail validate-logs`` reads them (reference §5.7,
§5.8)."""

from __future__ import annotations

import hashlib
import zlib


def cli_signing_string(digest_data: dict[str, object], inflated: bytes) -> str:
    previous = digest_data["previousDigestSignature"]
    if previous is None:
        previous = "null"
    return (
        f"{digest_data['digestEndTime']}\n{digest_data['digestS3Bucket']}/{digest_data['digestS3Object']}\n"
        f"{hashlib.sha256(inflated).hexdigest()}\n{previous}"
    )


def inflate_single_member(data: bytes) -> bytes:
    """As the CLI does: one streaming inflater; bytes after the first member are an error."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data) + inflater.flush()
    assert inflater.eof
    assert inflater.unused_data == b"", "unexpected data after end of compressed stream"
    return out
