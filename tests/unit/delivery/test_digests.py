"""Digest files: keys, fields and the signing string, checked against what the AWS CLI does.

The key regexes and the signing string are copied from awscli's validator (reference §5.8 step 7, §5.7)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from opentrail.delivery.digests import (
    ListedLog,
    PreviousDigest,
    build_digest,
    metadata,
    signing_string,
)
from opentrail.delivery.layout import digest_key
from tests.support.awscli import cli_signing_string, inflate_single_member

ACCOUNT = "123456789012"

T0 = datetime(2024, 5, 1, 11, 1, 31, tzinfo=UTC).timestamp()
T1 = T0 + 3600  # 2024-05-01T12:01:31Z


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
