"""The walk over a trail's digest chain, as ``aws cloudtrail validate-logs`` makes it (reference §5.8).

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
the buckets; ``readers`` has the two kinds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentrail.validate.checks import LogCheck, check_digest, check_log, digest_time
from opentrail.validate.keys import PublicKeys, load_public_keys, preload_crypto
from opentrail.validate.listing import LogFolders, digest_keys
from opentrail.validate.readers import ObjectMissing
from opentrail.validate.times import key_time
from opentrail.validate.verdicts import Gap, Invalid, Line, Verdict

if TYPE_CHECKING:
    from opentrail.validate.readers import Reader
    from opentrail.validate.trail import TrailFiles

Item = Verdict | Gap | Future[Verdict]
Fetched = Future[tuple[bytes, dict[str, str]]]


class Result:
    """The window asked for, the walk's items in order, and the span its valid digests cover."""

    __slots__ = ("end", "found_end", "found_start", "items", "start")

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start, self.end = start, end
        self.items: list[Item] = []
        self.found_start: datetime | None = None
        self.found_end: datetime | None = None

    def found(self, start: datetime, end: datetime) -> None:
        """Widen the summary's "Results found" span: valid digests only, clipped to the window."""
        start, end = max(start, self.start), min(end, self.end)
        if self.found_start is None or start < self.found_start:
            self.found_start = start
        if self.found_end is None or end > self.found_end:
            self.found_end = end


def _older(listing: list[str], than: str | None) -> tuple[str | None, datetime | None]:
    """Pop the newest listed key (dated before ``than``'s key, if given), as the AWS CLI does."""
    limit = key_time(than) if than is not None else None
    while listing:
        key = listing.pop()
        date = key_time(key)
        if limit is None or date < limit:
            return key, date
    return None, None


class Walk:
    """One run over a trail's digest chain (AWS CLI §5.8 step 9), log checks on ``pool``."""

    def __init__(
        self,
        reader: Reader,
        files: TrailFiles,
        pool: ThreadPoolExecutor,
        on_log_scheduled: Callable[[Future[Verdict]], None] = lambda _: None,
    ) -> None:
        self.reader = reader
        # A reader with ``fetch`` reads without a thread of ours (``S3Reader``).
        self.fetch: Callable[[str, str], Fetched] | None = getattr(reader, "fetch", None)
        self.files = files
        self.keys = PublicKeys({})
        self.pool = pool
        self.on_log_scheduled = on_log_scheduled
        self.logs = LogFolders(reader, files, pool)
        self._fetched: dict[tuple[str, str], Fetched] = {}

    def _prefetch(self, bucket: str, listing: list[str]) -> None:
        for key in listing:
            if (bucket, key) not in self._fetched:
                self._fetched[bucket, key] = (
                    self.fetch(bucket, key)
                    if self.fetch is not None
                    else self.pool.submit(self.reader.get, bucket, key)
                )

    def _get(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        pending = self._fetched.pop((bucket, key), None)
        return pending.result() if pending is not None else self.reader.get(bucket, key)

    def _list(self, bucket: str, result: Result) -> list[str]:
        listing = digest_keys(self.reader, self.files, bucket, result.start, result.end)
        self._prefetch(bucket, listing)
        return listing

    def run(self, result: Result, keys: PublicKeys | Future[PublicKeys]) -> None:
        """Walk the chain. ``keys`` may still be being read: they are waited for once the digests are
        listed, their failure raised rather than the listing's (the AWS CLI's order)."""
        bucket = self.files.bucket
        try:
            listing = digest_keys(self.reader, self.files, bucket, result.start, result.end)
        finally:
            self.keys = keys.result() if isinstance(keys, Future) else keys
        self._prefetch(bucket, listing)
        self.logs.list_ahead(bucket, listing)
        key, last_start = _older(listing, None)
        expected_hash: tuple[str, str] | None = None  # (hash, newer digest's URL) for the next digest
        while key is not None and last_start is not None and result.start <= last_start:
            try:
                data, metadata = self._get(bucket, key)
                document, inflated = check_digest(
                    data, metadata, bucket, key, self.keys, self.files.home_region
                )
                end = digest_time(document["digestEndTime"])
                last_start = digest_time(document["digestStartTime"])
            except (ObjectMissing, Invalid) as exc:
                reason = exc.reason if isinstance(exc, Invalid) else "not found"
                result.items.append(Verdict("digest", bucket, key, reason))
                key, _ = _older(listing, key)
                expected_hash = None
                continue
            result.found(last_start, end)
            self.logs.spans.append((last_start, end))
            result.items.append(self._digest_verdict(bucket, key, inflated, expected_hash))
            self._schedule_logs(result, document)
            previous_bucket = document.get("previousDigestS3Bucket")
            previous_key = document.get("previousDigestS3Object")
            if previous_bucket is None or previous_key is None:
                expected_hash = None
                older, older_date = _older(listing, key)
                if older is not None and older_date is not None:
                    result.items.append(Gap(older_date, last_start))
                key = older
                continue
            expected_hash = (str(document.get("previousDigestHashValue")), f"s3://{bucket}/{key}")
            key = str(previous_key)
            if previous_bucket != bucket:
                bucket = str(previous_bucket)
                listing = self._list(bucket, result)

    @staticmethod
    def _digest_verdict(
        bucket: str, key: str, inflated: bytes, expected_hash: tuple[str, str] | None
    ) -> Verdict:
        """A digest whose signature held: valid, unless the newer digest recorded another hash for it."""
        if expected_hash is not None and hashlib.sha256(inflated).hexdigest() != expected_hash[0]:
            reason = f"hash value doesn't match previousDigestHashValue of {expected_hash[1]}"
            return Verdict("digest", bucket, key, reason, extra=True)
        return Verdict("digest", bucket, key)

    def _schedule_logs(self, result: Result, document: dict[str, Any]) -> None:
        for log in document.get("logFiles") or ():
            bucket, key = str(log["s3Bucket"]), str(log["s3Object"])
            self.logs.listed.add((bucket, key))
            expected = str(log["hashValue"])
            future: Future[Verdict]
            if self.fetch is not None:
                future = LogCheck(self.fetch(bucket, key), bucket, key, expected)
            else:
                future = self.pool.submit(check_log, self.reader, bucket, key, expected)
            self.on_log_scheduled(future)
            result.items.append(future)


def lines_in_order(items: list[Item]) -> list[Line]:
    """The walk's items in order, each log check waited for."""
    return [item.result() if isinstance(item, Future) else item for item in items]


def walk_chain(
    reader: Reader,
    files: TrailFiles,
    result: Result,
    list_public_keys: Callable[[datetime, datetime], list[dict[str, Any]]],
    workers: int,
    on_log_scheduled: Callable[[Future[Verdict]], None] = lambda _: None,
) -> list[Line]:
    """Fetch keys, list and walk; every line of the report in order, unlisted log files last. The keys
    are asked for while the digests are listed, and waited for first, so a failure aborts where the
    AWS CLI's (keys first, then the listing) does."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        walk = Walk(reader, files, pool, on_log_scheduled)
        keys = pool.submit(load_public_keys, list_public_keys, result.start, result.end)
        pool.submit(preload_crypto)  # while the keys and the digests are being listed
        walk.run(result, keys)
        lines = lines_in_order(result.items)
    return [*lines, *walk.logs.unlisted()]
