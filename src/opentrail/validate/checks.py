"""Checking one digest and one log file as the AWS CLI does (reference §5.8 step 9 c-g), with its reasons.

A digest is refused (``Invalid``) for the first check it fails: gzip and JSON, signature metadata, the
required fields, its location, its key, its signature. A log file gets a ``Verdict``: its inflated bytes
hashed against the digest's ``hashValue``, one gzip member only.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import threading
import zlib
from concurrent.futures import Future
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentrail.validate.readers import ObjectMissing
from opentrail.validate.times import lenient_time
from opentrail.validate.verdicts import Invalid, Verdict

if TYPE_CHECKING:
    from opentrail.validate.keys import PublicKeys
    from opentrail.validate.readers import Reader

# ISA-L inflates gzip about 2.5 times as fast as zlib, to the same bytes and verdicts (the check costs
# more than all of a run's requests); zlib where it is not installed.
_inflate: Any
_INFLATE_ERRORS: tuple[Any, ...]
try:
    from isal import isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps the check working without it
    _inflate, _INFLATE_ERRORS = zlib, (zlib.error,)
else:
    _inflate, _INFLATE_ERRORS = isal_zlib, (zlib.error, isal_zlib.IsalError)

_PIECE = 1 << 16  # bytes inflated at a time: below malloc's threshold for mapping fresh pages
# The AWS CLI refuses a digest lacking any of these before looking at anything else.
_REQUIRED = (
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)


def check_digest(
    data: bytes, metadata: dict[str, str], bucket: str, key: str, keys: PublicKeys, home_region: str
) -> tuple[dict[str, Any], bytes]:
    """The parsed digest and its uncompressed bytes, or ``Invalid`` with the AWS CLI's reason."""
    try:
        inflated = _inflate.decompress(data, zlib.MAX_WBITS | 16)
        document = json.loads(inflated.decode())
    except (ValueError, *_INFLATE_ERRORS):
        raise Invalid("invalid format") from None
    if "signature" not in metadata or "signature-algorithm" not in metadata:
        raise Invalid("signature verification failed")
    if not isinstance(document, dict) or any(name not in document for name in _REQUIRED):
        raise Invalid("invalid format")
    if document["digestS3Bucket"] != bucket or document["digestS3Object"] != key:
        raise Invalid("has been moved from its original location")
    fingerprint = document["digestPublicKeyFingerprint"]
    if fingerprint not in keys:
        raise Invalid(f"public key not found in region {home_region} for fingerprint {fingerprint}")
    keys.load(fingerprint)
    try:
        signature = binascii.unhexlify(metadata["signature"])
    except (binascii.Error, ValueError) as exc:
        raise Invalid(str(exc)) from None
    previous = document["previousDigestSignature"]
    signed = (
        f"{document['digestEndTime']}\n{bucket}/{key}\n{hashlib.sha256(inflated).hexdigest()}\n"
        f"{'null' if previous is None else previous}"
    )
    if not keys.signature_valid(fingerprint, signature, signed.encode()):
        raise Invalid("signature verification failed")
    return document, inflated


def digest_time(text: str) -> datetime:
    """A digest's ``digestStartTime`` or ``digestEndTime``, read as the AWS CLI reads it."""
    parsed = lenient_time(text)
    if parsed is None:
        raise Invalid(f"Unable to parse date value: {text}")
    return parsed


def verify_log(bucket: str, key: str, expected: str, data: bytes) -> Verdict:
    """SHA-256 of the inflated log file against the digest's ``hashValue``; one gzip member only."""
    inflater = _inflate.decompressobj(zlib.MAX_WBITS | 16)
    digest = hashlib.sha256()
    try:
        # In pieces: for a whole inflated file malloc maps fresh pages each time, and faulting those
        # in took longer than hashing them.
        digest.update(inflater.decompress(data, _PIECE))
        while inflater.unconsumed_tail and not inflater.eof:
            digest.update(inflater.decompress(inflater.unconsumed_tail, _PIECE))
        digest.update(inflater.flush())
    except _INFLATE_ERRORS:
        return Verdict("log", bucket, key, "invalid format")
    if inflater.unused_data:
        return Verdict("log", bucket, key, "unexpected data after end of compressed stream")
    if digest.hexdigest() != expected:
        return Verdict("log", bucket, key, "hash value doesn't match")
    return Verdict("log", bucket, key)


def check_log(reader: Reader, bucket: str, key: str, expected: str) -> Verdict:
    """Read the log file and verify it; a missing one is ``not found``."""
    try:
        data, _ = reader.get(bucket, key)
    except ObjectMissing:
        return Verdict("log", bucket, key, "not found")
    return verify_log(bucket, key, expected, data)


class LogCheck(Future[Verdict]):
    """The verdict on a log file a reader's ``fetch`` is reading: inflated and hashed by the first thread that
    asks for it (the walk's, in order), not on the fetcher's I/O thread, which goes on reading."""

    def __init__(
        self, fetched: Future[tuple[bytes, dict[str, str]]], bucket: str, key: str, expected: str
    ) -> None:
        super().__init__()
        self.fetched, self.bucket, self.key, self.expected = fetched, bucket, key, expected
        self.checking = threading.Lock()

    def result(self, timeout: float | None = None) -> Verdict:
        with self.checking:
            if not self.done():
                self._check(timeout)
        return super().result(timeout)

    def _check(self, timeout: float | None) -> None:
        try:
            data, _ = self.fetched.result(timeout)
        except ObjectMissing:
            self.set_result(Verdict("log", self.bucket, self.key, "not found"))
        except BaseException as exc:
            self.set_exception(exc)
        else:
            self.set_result(verify_log(self.bucket, self.key, self.expected, data))
