"""What the walk lists: the digests in the window as the AWS CLI finds them (its marker, regex and stop
rule), and the log files of the trail's folders that no digest lists."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.storage import LocalStorage
from opentrail.validate.listing import LogFolders, digest_keys
from opentrail.validate.readers import StorageReader
from opentrail.validate.trail import TrailFiles
from tests.support.chains import ACCOUNT, ARN, REGION, TRAIL

START = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
END = datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
FILES = TrailFiles(ARN, "bkt", "pfx", ACCOUNT, TRAIL, REGION, REGION)


def digest(at: datetime, trail: str = TRAIL) -> str:
    return digest_key("pfx", ACCOUNT, REGION, trail, REGION, at)


def test_the_window_runs_from_a_minute_before_start_to_an_hour_after_end(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("bkt")
    inside, last = digest(START + timedelta(hours=1)), digest(END + timedelta(hours=1))
    for key in (
        digest(START - timedelta(minutes=2)),  # before the listing's marker
        digest(START - timedelta(seconds=30)),  # after the marker, dated before start
        inside,
        inside.replace(".json.gz", "_backfill.json.gz"),  # backfill digests are not walked
        digest(START + timedelta(hours=2), trail="other"),  # another trail's name
        last,
        digest(END + timedelta(hours=1, seconds=1)),  # the listing stops here
        digest(END + timedelta(hours=3)),
    ):
        storage.put_object("bkt", key, b"")
    assert digest_keys(StorageReader(storage), FILES, "bkt", START, END) == [inside, last]


def log(at: datetime, unique: str) -> str:
    return log_file_key("pfx", ACCOUNT, REGION, at, unique)


def test_only_whole_minutes_inside_a_valid_digests_window_count(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("bkt")
    span = (datetime(2024, 5, 1, 1, 0, 31, tzinfo=UTC), datetime(2024, 5, 1, 2, 0, 31, tzinfo=UTC))
    listed = log(datetime(2024, 5, 1, 1, 10, tzinfo=UTC), "a" * 16)
    unlisted = log(datetime(2024, 5, 1, 1, 20, tzinfo=UTC), "b" * 16)
    keys = [
        listed,
        unlisted,
        log(datetime(2024, 5, 1, 1, 0, tzinfo=UTC), "c" * 16),  # its minute began before the window
        log(datetime(2024, 5, 1, 2, 0, tzinfo=UTC), "d" * 16),  # its minute ends after the window
        log(datetime(2024, 5, 1, 2, 30, tzinfo=UTC), "e" * 16),  # still waiting for its digest
        unlisted.replace("_CloudTrail_", "_Other_"),  # not a log file's name
    ]
    for key in keys:
        storage.put_object("bkt", key, b"")
    with ThreadPoolExecutor(2) as pool:
        folders = LogFolders(StorageReader(storage), FILES, pool)
        assert folders.unlisted() == []  # no valid digest: nothing to compare with
        folders.spans.append(span)
        folders.listed.add(("bkt", listed))
        found = folders.unlisted()
    assert [(v.key, v.reason, v.extra) for v in found] == [(unlisted, "not listed in any digest", True)]


def test_the_folders_listed_ahead_are_the_ones_read(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.create_bucket("bkt")
    unlisted = log(datetime(2024, 5, 1, 1, 20, tzinfo=UTC), "b" * 16)
    storage.put_object("bkt", unlisted, b"")
    with ThreadPoolExecutor(2) as pool:
        folders = LogFolders(StorageReader(storage), FILES, pool)
        folders.list_ahead("bkt", [digest(datetime(2024, 5, 1, 2, 0, 31, tzinfo=UTC))])
        pool.shutdown(wait=True)  # the day's folder is listed
        storage.delete_object("bkt", unlisted)  # gone after the folder was listed ahead
        folders.spans.append((datetime(2024, 5, 1, 1, tzinfo=UTC), datetime(2024, 5, 1, 2, tzinfo=UTC)))
        assert [v.key for v in folders.unlisted()] == [unlisted]
