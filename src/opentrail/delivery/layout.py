"""Where a trail's files go in its bucket: CloudTrail's key layout (reference §5.1, §5.5), which delivery
writes and ``validate-logs`` reads back.

    [prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<unique>.json.gz
    [prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<source region>/YYYY/MM/DD/
        <account>_CloudTrail-Digest_<source region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz

Pure functions of their arguments, importing only ``datetime``: the validator's quick start pays nothing
for them. A time is an aware UTC ``datetime`` or epoch seconds (whole seconds count, as CloudTrail's).
"""

from __future__ import annotations

from datetime import UTC, datetime

LOG_FOLDER = "CloudTrail"
DIGEST_FOLDER = "CloudTrail-Digest"
LOG_TIME = "%Y%m%dT%H%MZ"  # a log file's delivery minute
DIGEST_TIME = "%Y%m%dT%H%M%SZ"  # a digest's end time, to the second
DATE_FOLDERS = "%Y/%m/%d"


def _utc(at: float | datetime) -> datetime:
    return at if isinstance(at, datetime) else datetime.fromtimestamp(int(at), tz=UTC)


def account_root(prefix: str | None, account: str, org_id: str | None = None) -> str:
    """``[prefix/]AWSLogs/[o-id/]<account>``: where a trail's objects for one account live."""
    logs = f"AWSLogs/{org_id}/{account}" if org_id else f"AWSLogs/{account}"
    return f"{prefix}/{logs}" if prefix else logs


def log_folder(prefix: str | None, account: str, region: str, org_id: str | None = None) -> str:
    """The folder above the date folders of one region's log files."""
    return f"{account_root(prefix, account, org_id)}/{LOG_FOLDER}/{region}"


def log_file_stem(account: str, region: str) -> str:
    """What every log file name of ``account`` and ``region`` starts with, up to its time."""
    return f"{account}_{LOG_FOLDER}_{region}_"


def log_file_key(
    prefix: str | None,
    account: str,
    region: str,
    delivered_at: float | datetime,
    unique: str,
    org_id: str | None = None,
) -> str:
    """The object key of a log file delivered at ``delivered_at`` (date folders and minute: delivery time)."""
    when = _utc(delivered_at)
    name = f"{log_file_stem(account, region)}{when.strftime(LOG_TIME)}_{unique}.json.gz"
    return f"{log_folder(prefix, account, region, org_id)}/{when.strftime(DATE_FOLDERS)}/{name}"


def digest_folder(prefix: str | None, account: str, source_region: str, org_id: str | None = None) -> str:
    """The folder above the date folders of the digests covering ``source_region``."""
    return f"{account_root(prefix, account, org_id)}/{DIGEST_FOLDER}/{source_region}"


def digest_file_stem(account: str, source_region: str, trail_name: str, home_region: str) -> str:
    """What every digest name of one trail, account and source region starts with, up to its time."""
    return f"{account}_{DIGEST_FOLDER}_{source_region}_{trail_name}_{home_region}_"


def digest_key(
    prefix: str | None,
    account: str,
    source_region: str,
    trail_name: str,
    home_region: str,
    end: float | datetime,
    org_id: str | None = None,
) -> str:
    """The digest's object key; folders and the seconds-precise timestamp come from the END time.

    The validator slices the last 24 characters as ``YYYYMMDDTHHMMSSZ.json.gz``, so nothing may follow
    the timestamp (no ``_backfill``, which older CLIs mis-slice).
    """
    when = _utc(end)
    stem = digest_file_stem(account, source_region, trail_name, home_region)
    folder = digest_folder(prefix, account, source_region, org_id)
    return f"{folder}/{when.strftime(DATE_FOLDERS)}/{stem}{when.strftime(DIGEST_TIME)}.json.gz"


def day_folder(folder: str, day: datetime) -> str:
    """The date folder of ``day`` under ``folder``, with its trailing slash: a listing prefix."""
    return f"{folder}/{day.strftime(DATE_FOLDERS)}/"
