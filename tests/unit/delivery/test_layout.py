"""CloudTrail's key layout for log files and digests (reference §5.1, §5.5), checked against the AWS CLI's
own rebuilding of it: its digest-key regex and listing marker are copied from awscli's validator (§5.8
step 7)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.delivery.logfiles import unique_suffix

ACCOUNT = "123456789012"
T1 = datetime(2024, 5, 1, 12, 1, 31, tzinfo=UTC).timestamp()

LOG_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


def cli_digest_regex(
    prefix: str, account: str, src: str, name: str, home: str, org: str | None = None
) -> str:
    account_id, source_region, home_region = re.escape(account), re.escape(src), re.escape(home)
    name = re.escape(name)
    if org:
        key = (
            f"AWSLogs/{org}/{account_id}/CloudTrail\\-Digest/"
            f"{source_region}/\\d+/\\d+/\\d+/{account_id}_CloudTrail\\-Digest_"
            f"{source_region}_{name}_{home_region}_.+(?:_backfill)?\\.json\\.gz"
        )
    else:
        key = (
            f"AWSLogs/{account_id}/CloudTrail\\-Digest/{source_region}/"
            f"\\d+/\\d+/\\d+/{account_id}_CloudTrail\\-Digest_"
            f"{source_region}_{name}_{home_region}_.+(?:_backfill)?\\.json\\.gz"
        )
    if prefix:
        key = re.escape(prefix) + "/" + key
    return "^" + key + "$"


def cli_marker_key(prefix: str, account: str, src: str, name: str, home: str, start: datetime) -> str:
    date = start - timedelta(minutes=1)
    key = (
        f"AWSLogs/{account}/CloudTrail-Digest/{src}/{date:%Y/%m/%d}/{account}_CloudTrail-Digest_"
        f"{src}_{name}_{home}_{date:%Y%m%dT%H%M%SZ}.json.gz"
    )
    return prefix + "/" + key if prefix else key


def test_log_file_key_layout() -> None:
    unique = unique_suffix(b"trail|us-east-2|1|10")
    when = datetime(2015, 8, 1, 2, 10, 59, tzinfo=UTC).timestamp()
    key = log_file_key(None, "111122223333", "us-east-2", when, unique)
    assert key == (
        f"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/"
        f"111122223333_CloudTrail_us-east-2_20150801T0210Z_{unique}.json.gz"
    )
    assert LOG_KEY.match(key)
    org = log_file_key("a/b", "111122223333", "eu-west-1", when, unique, org_id="o-abc123")
    assert org.startswith("a/b/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2015/08/01/")
    match = LOG_KEY.match(org)
    assert match
    assert (match["org"], match["prefix"]) == ("o-abc123", "a/b")


def test_digest_key_matches_appendix_c_and_the_cli_regex() -> None:
    key = digest_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", T1)
    assert key == (
        "pfx/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/"
        "123456789012_CloudTrail-Digest_us-east-1_mytrail_us-east-1_20240501T120131Z.json.gz"
    )
    assert re.match(cli_digest_regex("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1"), key)
    # The CLI slices the timestamp by position and parses it with its DATE_FORMAT.
    assert datetime.strptime(key[-24:-8], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp() == T1
    # The CLI's listing marker for a start one minute later is exactly this key: date folders and name
    # come from the same (end) time.
    start = datetime.fromtimestamp(T1 + 60, tz=UTC)
    assert cli_marker_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", start) == key


def test_digest_key_for_organization_and_multi_region_trails() -> None:
    # Date folders come from the END time even when the period starts the day before.
    end = datetime(2016, 8, 2, 0, 0, 31, tzinfo=UTC).timestamp()
    key = digest_key(
        None, "072477793200", "ap-northeast-1", "Test-trail", "us-west-2", end, org_id="o-x1y2z3"
    )
    assert key == (
        "AWSLogs/o-x1y2z3/072477793200/CloudTrail-Digest/ap-northeast-1/2016/08/02/"
        "072477793200_CloudTrail-Digest_ap-northeast-1_Test-trail_us-west-2_20160802T000031Z.json.gz"
    )
    regex = cli_digest_regex("", "072477793200", "ap-northeast-1", "Test-trail", "us-west-2", "o-x1y2z3")
    assert re.match(regex, key)


def test_a_time_given_as_datetime_or_epoch_seconds_names_the_same_keys() -> None:
    # The writers pass epoch seconds, the validator datetimes; a fraction of a second changes nothing.
    when = datetime(2024, 12, 31, 23, 59, 59, 750_000, tzinfo=UTC)
    assert digest_key("p", ACCOUNT, "eu-west-1", "t", "us-east-1", when) == digest_key(
        "p", ACCOUNT, "eu-west-1", "t", "us-east-1", when.timestamp()
    )
    unique = unique_suffix(b"x")
    assert log_file_key(None, ACCOUNT, "eu-west-1", when, unique) == log_file_key(
        None, ACCOUNT, "eu-west-1", when.timestamp(), unique
    )
    assert "/2024/12/31/" in log_file_key(None, ACCOUNT, "eu-west-1", when, unique)
