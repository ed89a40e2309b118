"""CloudTrail digest files: JSON and the string that is signed (reference §5.6-5.7); keys are in ``layout``.

A digest lists the log files delivered for one trail and source region in [start, end], links to the
previous digest (hash, signature, location) and is signed over ``signing_string``. The signature itself
travels in the object's metadata, not in the JSON, so it is the caller's (delivery's) to store.

Pure functions: the same inputs give the same bytes, so a digest rebuilt after a crash is identical.
Field order is CloudTrail's; ``previousDigest*`` keys are present even when null because
``aws cloudtrail validate-logs`` requires ``previousDigestSignature`` to exist (§5.6).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from opentrail.clock import format_time
from opentrail.delivery.logfiles import gzip_member

SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"


@dataclass(frozen=True, slots=True)
class ListedLog:
    """One delivered log file as a digest lists it."""

    bucket: str
    key: str
    sha256_hex: str
    newest_event_time: str | None
    oldest_event_time: str | None


@dataclass(frozen=True, slots=True)
class PreviousDigest:
    """The link a digest carries to the one before it in the chain."""

    bucket: str
    key: str
    sha256_hex: str  # of the previous digest's uncompressed JSON
    signature_hex: str


@dataclass(frozen=True, slots=True)
class Digest:
    bucket: str
    key: str
    json_bytes: bytes  # exactly what is hashed and signed
    gz_bytes: bytes  # the object to store
    sha256_hex: str
    signing_string: str
    end_time_text: str

    def link(self, signature_hex: str) -> PreviousDigest:
        """The ``previous`` argument for the next digest, once this one is signed."""
        return PreviousDigest(self.bucket, self.key, self.sha256_hex, signature_hex)


def signing_string(
    end_time_text: str, bucket: str, key: str, sha256_hex: str, previous_signature_hex: str | None
) -> str:
    """§5.7: four lines, no trailing newline; a starting digest signs the literal ``null``."""
    previous = "null" if previous_signature_hex is None else previous_signature_hex
    return f"{end_time_text}\n{bucket}/{key}\n{sha256_hex}\n{previous}"


def _bound(times: Sequence[str | None], pick: Any) -> str | None:
    # CloudTrail's time format is fixed-width, so text order is time order.
    present = [t for t in times if t is not None]
    return pick(present) if present else None


def digest_document(
    *,
    account: str,
    start: float,
    end: float,
    bucket: str,
    key: str,
    fingerprint: str,
    log_files: Sequence[ListedLog],
    previous: PreviousDigest | None,
) -> dict[str, Any]:
    """The digest JSON as a dict in CloudTrail's field order."""
    return {
        "awsAccountId": account,
        "digestStartTime": format_time(start),
        "digestEndTime": format_time(end),
        "digestS3Bucket": bucket,
        "digestS3Object": key,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "newestEventTime": _bound([f.newest_event_time for f in log_files], max),
        "oldestEventTime": _bound([f.oldest_event_time for f in log_files], min),
        "previousDigestS3Bucket": previous.bucket if previous else None,
        "previousDigestS3Object": previous.key if previous else None,
        "previousDigestHashValue": previous.sha256_hex if previous else None,
        "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
        "previousDigestSignature": previous.signature_hex if previous else None,
        "logFiles": [
            {
                "s3Bucket": f.bucket,
                "s3Object": f.key,
                "hashValue": f.sha256_hex,
                "hashAlgorithm": HASH_ALGORITHM,
                "newestEventTime": f.newest_event_time,
                "oldestEventTime": f.oldest_event_time,
            }
            for f in log_files
        ],
    }


def build_digest(
    *,
    account: str,
    start: float,
    end: float,
    bucket: str,
    key: str,
    fingerprint: str,
    log_files: Sequence[ListedLog] = (),
    previous: PreviousDigest | None = None,
) -> Digest:
    """A digest ready to sign with the key whose ``fingerprint`` it names (``previous=None``: a starting
    digest). Sign ``signing_string`` (UTF-8) and store the hex signature as ``x-amz-meta-signature``."""
    document = digest_document(
        account=account,
        start=start,
        end=end,
        bucket=bucket,
        key=key,
        fingerprint=fingerprint,
        log_files=log_files,
        previous=previous,
    )
    json_bytes = msgspec.json.encode(document)
    sha = hashlib.sha256(json_bytes).hexdigest()
    end_text = document["digestEndTime"]
    previous_signature = previous.signature_hex if previous else None
    return Digest(
        bucket=bucket,
        key=key,
        json_bytes=json_bytes,
        gz_bytes=gzip_member(json_bytes),
        sha256_hex=sha,
        signing_string=signing_string(end_text, bucket, key, sha, previous_signature),
        end_time_text=end_text,
    )


def metadata(signature_hex: str) -> dict[str, str]:
    """The object's user metadata; suffixes lowercase, as the CLI looks them up exactly (§5.7)."""
    return {"signature": signature_hex, "signature-algorithm": SIGNATURE_ALGORITHM}
