"""One digest and one log file checked as the AWS CLI checks them (reference §5.8 step 9 c-g): the first
failed check gives the reason, in the AWS CLI's words."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from opentrail.delivery.signing import SigningKey
from opentrail.validate.checks import LogCheck, check_digest, check_log, digest_time, verify_log
from opentrail.validate.keys import PublicKeys
from opentrail.validate.readers import ObjectMissing, StorageReader
from opentrail.validate.verdicts import Invalid
from tests.support.chains import Chains

Digest = tuple[bytes, dict[str, str], str, str]  # data, metadata, bucket, key


@pytest.fixture
def digest(chains: Chains) -> Digest:
    storage, cases = chains
    chain = cases["valid"]
    info, data = storage.get_object(chain.bucket, chain.digests[1])
    return data, dict(info.metadata), chain.bucket, chain.digests[1]


@pytest.fixture
def keys(key: SigningKey) -> PublicKeys:
    return PublicKeys({key.public.fingerprint: key.public.der})


def test_an_intact_digest_is_returned_parsed_with_its_bytes(digest: Digest, keys: PublicKeys) -> None:
    data, metadata, bucket, key = digest
    document, inflated = check_digest(data, metadata, bucket, key, keys, "us-east-1")
    assert inflated == gzip.decompress(data)
    assert document == json.loads(inflated)
    assert document["digestS3Object"] == key


def rewritten(change: Callable[[dict[str, Any]], None]) -> Callable[[Digest], Digest]:
    def apply(digest: Digest) -> Digest:
        data, metadata, bucket, key = digest
        document = json.loads(gzip.decompress(data))
        change(document)
        return gzip.compress(json.dumps(document).encode()), metadata, bucket, key

    return apply


def with_data(data: bytes) -> Callable[[Digest], Digest]:
    def apply(digest: Digest) -> Digest:
        _, metadata, bucket, key = digest
        return data, metadata, bucket, key

    return apply


def without_metadata(name: str) -> Callable[[Digest], Digest]:
    def apply(digest: Digest) -> Digest:
        data, metadata, bucket, key = digest
        return data, {k: v for k, v in metadata.items() if k != name}, bucket, key

    return apply


def with_signature(text: str) -> Callable[[Digest], Digest]:
    def apply(digest: Digest) -> Digest:
        data, metadata, bucket, key = digest
        return data, {**metadata, "signature": text}, bucket, key

    return apply


CASES: dict[str, tuple[Callable[[Digest], Digest], str]] = {
    "not gzip": (with_data(b"plain"), "invalid format"),
    "not json": (with_data(gzip.compress(b"{")), "invalid format"),
    "no signature": (without_metadata("signature"), "signature verification failed"),
    "no algorithm": (without_metadata("signature-algorithm"), "signature verification failed"),
    "a field missing": (rewritten(lambda d: d.pop("digestStartTime")), "invalid format"),
    "moved": (
        rewritten(lambda d: d.update(digestS3Object="elsewhere")),
        "has been moved from its original location",
    ),
    "unknown key": (
        rewritten(lambda d: d.update(digestPublicKeyFingerprint="0" * 32)),
        "public key not found in region us-east-1 for fingerprint " + "0" * 32,
    ),
    "odd hex": (with_signature("abc"), "Odd-length string"),
    "another signature": (with_signature("ab" * 256), "signature verification failed"),
    "content changed": (
        rewritten(lambda d: d.update(logFiles=[])),
        "signature verification failed",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_failed_check_has_the_aws_clis_reason(digest: Digest, keys: PublicKeys, case: str) -> None:
    change, reason = CASES[case]
    data, metadata, bucket, key = change(digest)
    with pytest.raises(Invalid) as raised:
        check_digest(data, metadata, bucket, key, keys, "us-east-1")
    assert raised.value.reason == reason


def test_the_first_failed_check_wins(digest: Digest, keys: PublicKeys) -> None:
    # Moved and unsigned: the AWS CLI looks at the signature metadata before the location.
    data, _, bucket, key = rewritten(lambda d: d.update(digestS3Bucket="other"))(digest)
    with pytest.raises(Invalid) as raised:
        check_digest(data, {}, bucket, key, keys, "us-east-1")
    assert raised.value.reason == "signature verification failed"


def test_digest_times_are_read_leniently_or_refused_in_the_aws_clis_words() -> None:
    assert digest_time("2024-05-01T01:00:31Z").isoformat() == "2024-05-01T01:00:31+00:00"
    with pytest.raises(Invalid) as raised:
        digest_time("yesterday-ish")
    assert raised.value.reason == "Unable to parse date value: yesterday-ish"


LOG = b'{"Records":[{"eventTime":"2024-05-01T00:00:00Z"}]}'
LOG_HASH = hashlib.sha256(LOG).hexdigest()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (gzip.compress(LOG), None),
        (gzip.compress(LOG + b" "), "hash value doesn't match"),
        (gzip.compress(LOG) + gzip.compress(b""), "unexpected data after end of compressed stream"),
        (LOG, "invalid format"),
    ],
    ids=["valid", "changed", "two-members", "not-gzip"],
)
def test_a_log_file_is_hashed_inflated_one_member_only(data: bytes, reason: str | None) -> None:
    verdict = verify_log("b", "k", LOG_HASH, data)
    assert (verdict.kind, verdict.bucket, verdict.key, verdict.reason) == ("log", "b", "k", reason)


def test_a_log_file_larger_than_one_piece_is_hashed_whole() -> None:
    big = LOG * 10_000  # inflated in 64 KiB pieces
    assert verify_log("b", "k", hashlib.sha256(big).hexdigest(), gzip.compress(big)).valid


def test_a_missing_log_file_is_not_found(chains: Chains) -> None:
    storage, cases = chains
    verdict = check_log(StorageReader(storage), cases["valid"].bucket, "AWSLogs/nothing.json.gz", LOG_HASH)
    assert verdict.reason == "not found"


def test_a_log_check_waits_for_its_read_and_reports_a_missing_object() -> None:
    fetched: Future[tuple[bytes, dict[str, str]]] = Future()
    check = LogCheck(fetched, "b", "k", LOG_HASH)
    fetched.set_result((gzip.compress(LOG), {}))
    assert check.result(timeout=5).valid
    missing: Future[tuple[bytes, dict[str, str]]] = Future()
    missing.set_exception(ObjectMissing("k"))
    assert LogCheck(missing, "b", "k", LOG_HASH).result(timeout=5).reason == "not found"


def test_a_log_checks_other_failures_are_raised() -> None:
    failed: Future[tuple[bytes, dict[str, str]]] = Future()
    failed.set_exception(OSError("the disk is gone"))
    with pytest.raises(OSError, match="the disk is gone"):
        LogCheck(failed, "b", "k", LOG_HASH).result(timeout=5)
