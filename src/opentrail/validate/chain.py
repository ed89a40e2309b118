"""``opentrail validate-logs``: the digest-chain walk of ``aws cloudtrail validate-logs`` (reference §5.8).

The walk follows the AWS CLI step for step (listing window, newest-first chain, gap and missing rules,
the order of checks and the exact reasons), so the two tools print the same lines for the same bucket.
Two checks go beyond it, each reported as an INVALID line of its own and counted as a failure:

- a digest whose uncompressed bytes do not hash to the ``previousDigestHashValue`` that the next
  (newer) digest recorded for it: ``hash value doesn't match previousDigestHashValue of s3://...``.
  Its signature did verify, so its log list is authentic and its log files are still checked;
- a log file in the trail's ``CloudTrail/<region>/`` folders, delivered within the window of a valid
  digest, that no digest lists: ``not listed in any digest`` (after the walk's lines). Only whole
  minutes inside a valid digest's window count (log keys carry the delivery minute only), so files
  still waiting for their digest (validating up to "now") are never flagged.

Digests are fetched ahead in parallel and log files verified on a thread pool; results are collected
in walk order, so the output does not depend on which thread finished first. ``Reader`` is the seam to
the buckets; ``validation_readers`` has the two kinds.
"""

from __future__ import annotations

import binascii
import contextlib
import functools
import hashlib
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from opentrail.errors import ValidationAborted

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

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
KEY_DATE = "%Y%m%dT%H%M%SZ"
_MINUTE = timedelta(minutes=1)
DISPLAY_DATE = "%Y-%m-%dT%H:%M:%SZ"
_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
# The AWS CLI refuses a digest lacking any of these before looking at anything else.
_REQUIRED = (
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)


class ObjectMissing(Exception):
    """The object does not exist (S3 ``NoSuchKey``): an INVALID line, not an abort."""


if TYPE_CHECKING:

    class Reader(Protocol):
        """Read access to the buckets; any failure but a missing key raises ``ValidationAborted``. A
        reader may also have ``fetch(bucket, key) -> Future[(data, metadata)]``, reading without a
        thread of the caller's: log checks then run where each read completes, not on the pool."""

        def list_keys(self, bucket: str, prefix: str, marker: str) -> Iterator[str]: ...

        def get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]: ...


class Trail:
    __slots__ = ("account", "arn", "bucket", "home_region", "name", "organization", "prefix", "source_region")

    def __init__(
        self,
        arn: str,
        bucket: str,
        prefix: str | None,
        account: str,
        name: str,
        home_region: str,
        source_region: str,
        organization: str | None = None,
    ) -> None:
        self.arn, self.bucket, self.prefix, self.account = arn, bucket, prefix, account
        self.name, self.home_region, self.source_region = name, home_region, source_region
        # An organization trail's id folder: AWSLogs/<o-id>/<account>/...
        self.organization = organization


class Entry:
    """One verdict line: a digest or a log file, ``reason`` None when valid."""

    __slots__ = ("bucket", "extra", "key", "kind", "reason")

    def __init__(
        self, kind: str, bucket: str, key: str, reason: str | None = None, extra: bool = False
    ) -> None:
        self.kind = kind  # "digest" | "log"
        self.bucket, self.key, self.reason = bucket, key, reason
        self.extra = extra  # found by a check the AWS CLI does not make

    @property
    def valid(self) -> bool:
        return self.reason is None


class Gap:
    """A starting digest with older digests before it: CloudTrail delivered nothing in between."""

    __slots__ = ("after", "before")

    def __init__(self, after: datetime, before: datetime) -> None:
        self.after, self.before = after, before


Item = Entry | Gap | Future[Entry]


class Result:
    __slots__ = ("end", "found_end", "found_start", "items", "start")

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.items: list[Item] = []
        self.found_start: datetime | None = None
        self.found_end: datetime | None = None


def display(when: datetime) -> str:
    return when.strftime(DISPLAY_DATE)


def _stamp(text: str, fmt: str) -> datetime:
    """``datetime.strptime(text, fmt)`` in UTC for ``YYYYMMDDTHHMM[SS]Z``: read by slicing when the
    digits make a real time (the same answer, without importing ``_strptime``), else by strptime."""
    if text.isascii() and len(text) in (14, 16) and text[8] == "T" and text[-1] == "Z":
        digits = text[:8] + text[9:-1]
        if digits.isdigit():
            month, day, hour, minute, second = (int(digits[i : i + 2] or 0) for i in range(4, 14, 2))
            with contextlib.suppress(ValueError):
                return datetime(int(digits[:4]), month, day, hour, minute, second, tzinfo=UTC)
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def _key_date(key: str) -> datetime:
    # The validator slices the name positionally: ``...YYYYMMDDTHHMMSSZ.json.gz``.
    return _stamp(key[-24:-8], KEY_DATE)


def _lenient_time(text: str) -> datetime | None:
    """Any form dateutil reads (the AWS CLI's parser), its wall-clock value taken as UTC: a zone in the
    text is dropped, not converted, exactly as the AWS CLI does. None when unreadable."""
    if _ISO_UTC.fullmatch(text):
        # The form CloudTrail writes and most people type: read it without importing dateutil.
        try:
            return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
        except ValueError:
            pass  # e.g. month 13: dateutil's verdict and words below
    # python-dateutil ships with botocore but without type stubs.
    from dateutil import parser  # type: ignore[import-untyped]

    try:
        parsed = parser.parse(text)
    except (ValueError, OverflowError, TypeError):
        return None
    return parsed.replace(tzinfo=UTC) if isinstance(parsed, datetime) else None


def _digest_time(text: str) -> datetime:
    parsed = _lenient_time(text)
    if parsed is None:
        raise _Invalid(f"Unable to parse date value: {text}")
    return parsed


def account_root(prefix: str | None, account: str, organization: str | None = None) -> str:
    logs = f"AWSLogs/{organization}/{account}" if organization else f"AWSLogs/{account}"
    return f"{prefix}/{logs}" if prefix else logs


def digest_keys(reader: Reader, trail: Trail, bucket: str, start: datetime, end: datetime) -> list[str]:
    """Digest keys in the window, oldest first: from the key one minute before ``start`` to the first
    key dated after ``end`` + 1 hour (a digest ending then still lists logs delivered before ``end``)."""
    root = account_root(trail.prefix, trail.account, trail.organization)
    src, name, home = trail.source_region, trail.name, trail.home_region
    folder = f"{root}/CloudTrail-Digest/{src}"
    marker_at = start - timedelta(minutes=1)
    marker = (
        f"{folder}/{marker_at:%Y/%m/%d}/{trail.account}_CloudTrail-Digest_{src}_{name}_{home}_"
        f"{marker_at.strftime(KEY_DATE)}.json.gz"
    )
    pattern = re.compile(
        "^"
        + re.escape(folder)
        + r"/\d+/\d+/\d+/"
        + re.escape(f"{trail.account}_CloudTrail-Digest_{src}_{name}_{home}_")
        + r".+\.json\.gz$"
    )
    low, high = start.strftime(KEY_DATE), (end + timedelta(hours=1)).strftime(KEY_DATE)
    found = []
    for key in reader.list_keys(bucket, folder, marker):
        # Backfill digests are a later CloudTrail feature OpenTrail never writes; they are not walked.
        if not pattern.match(key) or key.endswith("_backfill.json.gz"):
            continue
        stamp = key[-24:-8]
        if stamp > high:
            break
        if stamp >= low:
            found.append(key)
    return found


def load_public_keys(
    list_public_keys: Callable[[datetime, datetime], list[dict[str, Any]]], start: datetime, end: datetime
) -> dict[str, bytes]:
    """DER bytes by fingerprint, for the window the AWS CLI asks for: [start, end + 2 h]."""
    until = end + timedelta(hours=2)
    listed = list_public_keys(start, until)
    if not listed:
        raise ValidationAborted(f"No public keys found between {display(start)} and {display(until)}")
    keys = {}
    for item in listed:
        value = item["Value"]
        # base64.b64decode without importing base64: ASCII text, non-alphabet characters skipped.
        der = binascii.a2b_base64(value.encode("ascii")) if isinstance(value, str) else bytes(value)
        keys[str(item["Fingerprint"])] = der
    return keys


class _Invalid(Exception):
    """A digest failed a check; ``line`` is the reason after ``INVALID: ``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def preload_crypto() -> None:
    """Import what checks signatures (cryptography: about 45 ms), so that a caller can do it on a
    thread while its first requests are in flight instead of at the first digest."""
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: F401
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: F401


@functools.lru_cache(maxsize=64)
def _pkcs1_key(der: bytes, fingerprint: str) -> rsa.RSAPublicKey:
    # cryptography also reads SPKI; the AWS CLI reads PKCS#1 only, so anything that does not round-trip
    # to the same PKCS#1 bytes is refused in its words.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    refused = _Invalid(f"Unable to load PKCS #1 key with fingerprint {fingerprint}")
    try:
        key = serialization.load_der_public_key(der)
    except ValueError:
        raise refused from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise refused
    if key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1) != der:
        raise refused
    return key


def _signature_valid(public: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def check_digest(
    data: bytes, metadata: dict[str, str], bucket: str, key: str, keys: dict[str, bytes], home_region: str
) -> tuple[dict[str, Any], bytes]:
    """The parsed digest and its uncompressed bytes, or ``_Invalid`` with the AWS CLI's reason."""
    try:
        inflated = _inflate.decompress(data, zlib.MAX_WBITS | 16)
        document = json.loads(inflated.decode())
    except (ValueError, *_INFLATE_ERRORS):
        raise _Invalid("invalid format") from None
    if "signature" not in metadata or "signature-algorithm" not in metadata:
        raise _Invalid("signature verification failed")
    if not isinstance(document, dict) or any(name not in document for name in _REQUIRED):
        raise _Invalid("invalid format")
    if document["digestS3Bucket"] != bucket or document["digestS3Object"] != key:
        raise _Invalid("has been moved from its original location")
    fingerprint = document["digestPublicKeyFingerprint"]
    if fingerprint not in keys:
        raise _Invalid(f"public key not found in region {home_region} for fingerprint {fingerprint}")
    public = _pkcs1_key(keys[fingerprint], fingerprint)
    try:
        signature = binascii.unhexlify(metadata["signature"])
    except (binascii.Error, ValueError) as exc:
        raise _Invalid(str(exc)) from None
    previous = document["previousDigestSignature"]
    signed = (
        f"{document['digestEndTime']}\n{bucket}/{key}\n{hashlib.sha256(inflated).hexdigest()}\n"
        f"{'null' if previous is None else previous}"
    )
    if not _signature_valid(public, signature, signed.encode()):
        raise _Invalid("signature verification failed")
    return document, inflated


def verify_log(bucket: str, key: str, expected: str, data: bytes) -> Entry:
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
        return Entry("log", bucket, key, "invalid format")
    if inflater.unused_data:
        return Entry("log", bucket, key, "unexpected data after end of compressed stream")
    if digest.hexdigest() != expected:
        return Entry("log", bucket, key, "hash value doesn't match")
    return Entry("log", bucket, key)


def check_log(reader: Reader, bucket: str, key: str, expected: str) -> Entry:
    try:
        data, _ = reader.get(bucket, key)
    except ObjectMissing:
        return Entry("log", bucket, key, "not found")
    return verify_log(bucket, key, expected, data)


class _LogCheck(Future[Entry]):
    """The verdict on a log file a reader's ``fetch`` is reading: inflated and hashed by the first thread that
    asks for it (the walk's, in order), not on the fetcher's I/O thread, which goes on reading."""

    def __init__(
        self, fetched: Future[tuple[bytes, dict[str, str]]], bucket: str, key: str, expected: str
    ) -> None:
        super().__init__()
        self.fetched, self.bucket, self.key, self.expected = fetched, bucket, key, expected
        self.checking = threading.Lock()

    def result(self, timeout: float | None = None) -> Entry:
        with self.checking:
            if not self.done():
                self._check(timeout)
        return super().result(timeout)

    def _check(self, timeout: float | None) -> None:
        try:
            data, _ = self.fetched.result(timeout)
        except ObjectMissing:
            self.set_result(Entry("log", self.bucket, self.key, "not found"))
        except BaseException as exc:
            self.set_exception(exc)
        else:
            self.set_result(verify_log(self.bucket, self.key, self.expected, data))


class Walk:
    """One run over a trail's digest chain (AWS CLI §5.8 step 9), log checks on ``pool``."""

    def __init__(
        self,
        reader: Reader,
        trail: Trail,
        keys: dict[str, bytes],
        pool: ThreadPoolExecutor,
        on_log_scheduled: Callable[[Future[Entry]], None] = lambda _: None,
    ) -> None:
        self.reader = reader
        # A reader with ``fetch`` reads without a thread of ours (``S3Reader``).
        self.fetch: Callable[[str, str], Future[tuple[bytes, dict[str, str]]]] | None
        self.fetch = getattr(reader, "fetch", None)
        self.trail = trail
        self.keys = keys
        self.pool = pool
        self.on_log_scheduled = on_log_scheduled
        self.listed_logs: set[tuple[str, str]] = set()
        self.spans: list[tuple[datetime, datetime]] = []  # [start, end] of each valid digest
        self._fetched: dict[tuple[str, str], Future[tuple[bytes, dict[str, str]]]] = {}
        self._listings: dict[str, Future[list[str]]] = {}  # log folders listed ahead, by prefix

    def _fetch(self, bucket: str, key: str) -> Future[tuple[bytes, dict[str, str]]]:
        if self.fetch is not None:
            return self.fetch(bucket, key)
        return self.pool.submit(self.reader.get, bucket, key)

    def _log_folder(self) -> str:
        trail = self.trail
        root = account_root(trail.prefix, trail.account, trail.organization)
        return f"{root}/CloudTrail/{trail.source_region}"

    def _list_ahead(self, bucket: str, listing: list[str]) -> None:
        """Start listing the log folders of the days the listed digests' names suggest the walk will
        cover, so that ``unlisted_logs`` finds them read; a day it does not ask for is never looked at
        (nor its errors), and a day it asks for that was not listed ahead is listed then."""
        if bucket != self.trail.bucket or not listing:
            return
        try:
            dates = [_key_date(key) for key in listing]
        except ValueError:
            return  # the walk reports what it makes of such names
        day = (min(dates) - timedelta(hours=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        last = max(dates)
        if last - day > timedelta(days=31):
            return
        folder = self._log_folder()
        while day <= last:
            prefix = f"{folder}/{day:%Y/%m/%d}/"
            self._listings[prefix] = self.pool.submit(
                lambda p: list(self.reader.list_keys(bucket, p, "")), prefix
            )
            day += timedelta(days=1)

    def _prefetch(self, bucket: str, listing: list[str]) -> None:
        for key in listing:
            if (bucket, key) not in self._fetched:
                self._fetched[bucket, key] = self._fetch(bucket, key)

    def _get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        pending = self._fetched.pop((bucket, key), None)
        return pending.result() if pending is not None else self.reader.get(bucket, key)

    @staticmethod
    def _older(listing: list[str], than: str | None) -> tuple[str | None, datetime | None]:
        """Pop the newest listed key (dated before ``than``'s key, if given), as the AWS CLI does."""
        limit = _key_date(than) if than is not None else None
        while listing:
            key = listing.pop()
            date = _key_date(key)
            if limit is None or date < limit:
                return key, date
        return None, None

    def run(self, result: Result, keys: Future[dict[str, bytes]] | None = None) -> None:
        """Walk the chain. ``keys``, if given, are the public keys still being read: waited for once
        the digests are listed, their failure raised rather than the listing's (the AWS CLI's order)."""
        bucket = self.trail.bucket
        try:
            listing = digest_keys(self.reader, self.trail, bucket, result.start, result.end)
        finally:
            if keys is not None:
                self.keys = keys.result()
        self._prefetch(bucket, listing)
        self._list_ahead(bucket, listing)
        key, last_start = self._older(listing, None)
        expected_hash: tuple[str, str] | None = None  # (hash, newer digest's URL) for the next digest
        while key is not None and last_start is not None and result.start <= last_start:
            try:
                data, metadata = self._get(bucket, key)
                document, inflated = check_digest(
                    data, metadata, bucket, key, self.keys, self.trail.home_region
                )
                end = _digest_time(document["digestEndTime"])
                last_start = _digest_time(document["digestStartTime"])
            except (ObjectMissing, _Invalid) as exc:
                reason = exc.reason if isinstance(exc, _Invalid) else "not found"
                result.items.append(Entry("digest", bucket, key, reason))
                key, _ = self._older(listing, key)
                expected_hash = None
                continue
            self._found(result, last_start, end)
            self.spans.append((last_start, end))
            if expected_hash is not None and hashlib.sha256(inflated).hexdigest() != expected_hash[0]:
                reason = f"hash value doesn't match previousDigestHashValue of {expected_hash[1]}"
                result.items.append(Entry("digest", bucket, key, reason, extra=True))
            else:
                result.items.append(Entry("digest", bucket, key))
            self._schedule_logs(result, document)
            previous_bucket = document.get("previousDigestS3Bucket")
            previous_key = document.get("previousDigestS3Object")
            if previous_bucket is None or previous_key is None:
                expected_hash = None
                older, older_date = self._older(listing, key)
                if older is not None and older_date is not None:
                    result.items.append(Gap(older_date, last_start))
                key = older
                continue
            hash_value = document.get("previousDigestHashValue")
            expected_hash = (str(hash_value), f"s3://{bucket}/{key}")
            key = str(previous_key)
            if previous_bucket != bucket:
                bucket = str(previous_bucket)
                listing = digest_keys(self.reader, self.trail, bucket, result.start, result.end)
                self._prefetch(bucket, listing)

    @staticmethod
    def _found(result: Result, start: datetime, end: datetime) -> None:
        # The summary's "Results found" span: valid digests only, clipped to the requested range.
        start, end = max(start, result.start), min(end, result.end)
        if result.found_start is None or start < result.found_start:
            result.found_start = start
        if result.found_end is None or end > result.found_end:
            result.found_end = end

    def _schedule_logs(self, result: Result, document: dict[str, Any]) -> None:
        for log in document.get("logFiles") or ():
            bucket, key = str(log["s3Bucket"]), str(log["s3Object"])
            self.listed_logs.add((bucket, key))
            expected = str(log["hashValue"])
            future: Future[Entry]
            if self.fetch is not None:
                future = _LogCheck(self.fetch(bucket, key), bucket, key, expected)
            else:
                future = self.pool.submit(check_log, self.reader, bucket, key, expected)
            self.on_log_scheduled(future)
            result.items.append(future)

    def unlisted_logs(self) -> list[Entry]:
        """Log files delivered inside a valid digest's window (in whole minutes: log keys carry only the
        delivery minute) that no walked digest lists. Windows of missing or invalid digests are left
        out: they are reported already, and their lists cannot be trusted or read."""
        if not self.spans:
            return []
        trail = self.trail
        folder = self._log_folder()
        stem = re.escape(f"{trail.account}_CloudTrail_{trail.source_region}_")
        name = re.compile(stem + r"(\d{8}T\d{4}Z)_[^/]+\.json\.gz$")
        unlisted = []
        day = min(start for start, _ in self.spans).replace(hour=0, minute=0, second=0, microsecond=0)
        last = max(end for _, end in self.spans)
        while day <= last:
            prefix = f"{folder}/{day:%Y/%m/%d}/"
            ahead = self._listings.pop(prefix, None)
            keys = ahead.result() if ahead is not None else self.reader.list_keys(trail.bucket, prefix, "")
            for key in keys:
                match = name.match(key[len(prefix) :])
                if match is None or (trail.bucket, key) in self.listed_logs:
                    continue
                minute = _stamp(match.group(1), "%Y%m%dT%H%MZ")
                if any(start <= minute and minute + _MINUTE <= end for start, end in self.spans):
                    unlisted.append(Entry("log", trail.bucket, key, "not listed in any digest", extra=True))
            day += timedelta(days=1)
        return unlisted


def resolve(items: list[Item]) -> list[Entry | Gap]:
    """The walk's items in order, each log check waited for."""
    return [item.result() if isinstance(item, Future) else item for item in items]


def parse_cli_time(text: str) -> datetime:
    """A ``--start-time``/``--end-time`` value, read as the AWS CLI reads it (``_lenient_time``)."""
    parsed = _lenient_time(text)
    if parsed is None:
        raise ValidationAborted(f"Unable to parse date value: {text}")
    return parsed
