"""Digest files: keys, fields and the signing string, checked against what the AWS CLI does.

The key regexes and the signing string are copied from awscli's validator (reference §5.8 step 7, §5.7)."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from datetime import UTC, datetime, timedelta

from opentrail.delivery.digests import (
    ListedLog,
    PreviousDigest,
    build_digest,
    digest_key,
    metadata,
    signing_string,
)

ACCOUNT = "123456789012"


T0 = datetime(2024, 5, 1, 11, 1, 31, tzinfo=UTC).timestamp()


T1 = T0 + 3600  # 2024-05-01T12:01:31Z


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


FIELDS = [
    "awsAccountId",
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "digestSignatureAlgorithm",
    "newestEventTime",
    "oldestEventTime",
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "previousDigestSignature",
    "logFiles",
]


def test_starting_digest_has_every_field_with_nulls_present() -> None:
    key = digest_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", T1)
    made = build_digest(account=ACCOUNT, start=T0, end=T1, bucket="ctbucket", key=key, fingerprint="0" * 32)
    raw = inflate_single_member(made.gz_bytes)
    assert raw == made.json_bytes
    data = json.loads(raw)
    assert list(data) == FIELDS
    assert data["digestStartTime"] == "2024-05-01T11:01:31Z"
    assert data["digestEndTime"] == "2024-05-01T12:01:31Z"
    assert data["digestSignatureAlgorithm"] == "SHA256withRSA"
    for name in FIELDS[7:14]:
        assert name in data, name
        assert data[name] is None, name
    assert data["logFiles"] == []
    assert b'"previousDigestSignature":null' in raw
    assert made.sha256_hex == hashlib.sha256(raw).hexdigest()
    assert made.signing_string.endswith("\nnull")
    assert made.signing_string == cli_signing_string(data, raw)


def test_chained_digest_fields_and_signing_string_layout() -> None:
    key = digest_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", T1)
    previous_key = digest_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", T0)
    previous = PreviousDigest("ctbucket", previous_key, "ab" * 32, "80cb" * 128)
    logs = [
        ListedLog("ctbucket", "k1", "11" * 32, "2024-05-01T11:30:00Z", "2024-05-01T11:00:00Z"),
        ListedLog("other", "k2", "22" * 32, "2024-05-01T12:00:00Z", "2024-05-01T10:59:00Z"),
    ]
    made = build_digest(
        account=ACCOUNT,
        start=T0,
        end=T1,
        bucket="ctbucket",
        key=key,
        fingerprint="77a3056ec084a66a78e87bbc01a77135",
        log_files=logs,
        previous=previous,
    )
    data = json.loads(made.json_bytes)
    assert list(data) == FIELDS
    assert (data["newestEventTime"], data["oldestEventTime"]) == (
        "2024-05-01T12:00:00Z",
        "2024-05-01T10:59:00Z",
    )
    assert data["previousDigestS3Object"].endswith("20240501T110131Z.json.gz")
    assert data["previousDigestHashAlgorithm"] == "SHA-256"
    assert list(data["logFiles"][0]) == [
        "s3Bucket",
        "s3Object",
        "hashValue",
        "hashAlgorithm",
        "newestEventTime",
        "oldestEventTime",
    ]
    assert data["logFiles"][1]["hashAlgorithm"] == "SHA-256"
    # Appendix C: four lines, "\n" separators, no trailing newline.
    expected = "\n".join(["2024-05-01T12:01:31Z", f"ctbucket/{key}", made.sha256_hex, "80cb" * 128])
    assert made.signing_string == expected
    assert made.signing_string == cli_signing_string(data, made.json_bytes)
    assert signing_string("E", "b", "k", "h", None) == "E\nb/k\nh\nnull"
    assert metadata("ff") == {"signature": "ff", "signature-algorithm": "SHA256withRSA"}
    assert made.link("aa").signature_hex == "aa"
    assert (
        build_digest(
            account=ACCOUNT, start=T0, end=T1, bucket="ctbucket", key=key, fingerprint="f", log_files=logs
        ).gz_bytes
        == build_digest(
            account=ACCOUNT, start=T0, end=T1, bucket="ctbucket", key=key, fingerprint="f", log_files=logs
        ).gz_bytes
    )
