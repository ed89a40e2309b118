"""What the walk lists: the digests in the window, found as the AWS CLI finds them (§5.8 step 7), and the
trail's log folders, for the log files no digest lists.

The folders and name stems come from ``delivery.layout``, the layout delivery writes. How a listed key
is read is the AWS CLI's own, kept here rather than in the layout: its regex (looser than the layout:
``\\d+`` date folders, anything before ``.json.gz``) and its positional slice of the time decide which
digests it walks, and the validator must walk the same ones, whatever the writer does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opentrail.delivery.layout import DIGEST_TIME, day_folder, digest_key
from opentrail.validate.times import key_stamp, key_time, log_minute
from opentrail.validate.verdicts import Verdict

if TYPE_CHECKING:
    from opentrail.validate.readers import Reader
    from opentrail.validate.trail import TrailFiles

_MINUTE = timedelta(minutes=1)


def digest_keys(reader: Reader, files: TrailFiles, bucket: str, start: datetime, end: datetime) -> list[str]:
    """Digest keys in the window, oldest first: from the key one minute before ``start`` to the first
    key dated after ``end`` + 1 hour (a digest ending then still lists logs delivered before ``end``)."""
    folder, stem = files.digest_folder(), files.digest_stem()
    # The listing starts after the key a digest ending a minute before ``start`` would have.
    marker = digest_key(
        files.prefix,
        files.account,
        files.source_region,
        files.name,
        files.home_region,
        start - _MINUTE,
        files.organization,
    )
    pattern = re.compile("^" + re.escape(folder) + r"/\d+/\d+/\d+/" + re.escape(stem) + r".+\.json\.gz$")
    low, high = start.strftime(DIGEST_TIME), (end + timedelta(hours=1)).strftime(DIGEST_TIME)
    found = []
    for key in reader.list_keys(bucket, folder, marker):
        # Backfill digests are a later CloudTrail feature OpenTrail never writes; they are not walked.
        if not pattern.match(key) or key.endswith("_backfill.json.gz"):
            continue
        stamp = key_stamp(key)
        if stamp > high:
            break
        if stamp >= low:
            found.append(key)
    return found


def _midnight(when: datetime) -> datetime:
    return when.replace(hour=0, minute=0, second=0, microsecond=0)


class LogFolders:
    """The trail's log files in its own bucket, against the ones the walked digests list."""

    def __init__(self, reader: Reader, files: TrailFiles, pool: ThreadPoolExecutor) -> None:
        self.reader, self.files, self.pool = reader, files, pool
        self.listed: set[tuple[str, str]] = set()  # (bucket, key) of every log file a digest lists
        self.spans: list[tuple[datetime, datetime]] = []  # [start, end] of each valid digest
        self._ahead: dict[str, Future[list[str]]] = {}  # day folders listed ahead, by prefix

    def _days(self, first: datetime, last: datetime) -> Iterable[str]:
        folder, day = self.files.log_folder(), _midnight(first)
        while day <= last:
            yield day_folder(folder, day)
            day += timedelta(days=1)

    def list_ahead(self, bucket: str, listing: list[str]) -> None:
        """Start listing the log folders of the days the listed digests' names suggest the walk will
        cover, so that ``unlisted`` finds them read; a day it does not ask for is never looked at
        (nor its errors), and a day it asks for that was not listed ahead is listed then."""
        if bucket != self.files.bucket or not listing:
            return
        try:
            dates = [key_time(key) for key in listing]
        except ValueError:
            return  # the walk reports what it makes of such names
        first, last = min(dates) - timedelta(hours=1), max(dates)
        if last - _midnight(first) > timedelta(days=31):
            return
        for prefix in self._days(first, last):
            self._ahead[prefix] = self.pool.submit(self._list, bucket, prefix)

    def _list(self, bucket: str, prefix: str) -> list[str]:
        return list(self.reader.list_keys(bucket, prefix, ""))

    def unlisted(self) -> list[Verdict]:
        """Log files delivered inside a valid digest's window (in whole minutes: log keys carry only the
        delivery minute) that no walked digest lists. Windows of missing or invalid digests are left
        out: they are reported already, and their lists cannot be trusted or read."""
        if not self.spans:
            return []
        bucket = self.files.bucket
        name = re.compile(re.escape(self.files.log_stem()) + r"(\d{8}T\d{4}Z)_[^/]+\.json\.gz$")
        unlisted = []
        first, last = min(start for start, _ in self.spans), max(end for _, end in self.spans)
        for prefix in self._days(first, last):
            ahead = self._ahead.pop(prefix, None)
            keys = ahead.result() if ahead is not None else self.reader.list_keys(bucket, prefix, "")
            for key in keys:
                match = name.match(key[len(prefix) :])
                if match is None or (bucket, key) in self.listed:
                    continue
                minute = log_minute(match.group(1))
                if any(start <= minute and minute + _MINUTE <= end for start, end in self.spans):
                    unlisted.append(Verdict("log", bucket, key, "not listed in any digest", extra=True))
        return unlisted
