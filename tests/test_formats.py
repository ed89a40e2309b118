"""Log-file and digest formats, signatures and signing keys, checked against what the AWS CLI does.

The key regexes and the signing string are copied from awscli's validator (reference §5.8 step 7, §5.7),
and signatures are verified with the python ``rsa`` package, the AWS CLI's verifier, as well as with
``cryptography``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import stat
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import rsa as pyrsa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from opentrail.clock import FixedClock
from opentrail.delivery.digests import (
    ListedLog,
    PreviousDigest,
    build_digest,
    digest_key,
    metadata,
    signing_string,
)
from opentrail.delivery.logfiles import build_log_file, log_file_key, unique_suffix
from opentrail.delivery.signing import (
    DAY,
    KIND,
    SIGNING_PERIOD,
    Signer,
    fingerprint,
    generate_key,
    keys_between,
    public_keys,
)
from opentrail.errors import ConfigError
from opentrail.storage.encryption import MasterKey
from opentrail.store import Store, open_store

ACCOUNT = "123456789012"
T0 = datetime(2024, 5, 1, 11, 1, 31, tzinfo=UTC).timestamp()
T1 = T0 + 3600  # 2024-05-01T12:01:31Z


# -- the AWS CLI's own logic (awscli/customizations/cloudtrail/validation.py), copied -----------------


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


LOG_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)


# -- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'opentrail.db'}", FixedClock(T0))
    yield opened
    opened.close()


_POOL = [generate_key() for _ in range(3)]


def pooled_keys() -> Iterator[rsa.RSAPrivateKey]:
    """Pre-made keys, so rotation tests do not spend their time generating RSA keys."""
    yield from _POOL
    while True:
        yield generate_key()


def signer_for(store: Store, tmp_path: Path, clock: FixedClock) -> Signer:
    keys = pooled_keys()
    lock = threading.Lock()

    def new_key() -> rsa.RSAPrivateKey:
        with lock:
            return next(keys)

    return Signer(store, MasterKey.load_or_create(tmp_path), clock, new_key)


def record(n: int, when: str) -> bytes:
    body = {"eventVersion": "1.11", "eventTime": when, "eventID": f"id-{n}", "pad": "x" * 1100}
    # A member OpenTrail does not model, in the producer's own spacing, must survive verbatim.
    return json.dumps(body).encode()[:-1] + b', "unknownField" :  {"a":1}}'


# -- log files ------------------------------------------------------------------------------------------


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


def test_unique_suffix_is_16_alphanumerics_and_a_function_of_the_seed() -> None:
    seeds = [hashlib.sha256(f"arn|us-east-1|{i}|{i + 9}".encode()).digest() for i in range(500)]
    suffixes = [unique_suffix(s) for s in seeds]
    assert all(re.fullmatch(r"[A-Za-z0-9]{16}", s) for s in suffixes)
    assert len(set(suffixes)) == len(suffixes)
    assert [unique_suffix(s) for s in seeds] == suffixes


def test_log_file_is_one_deterministic_gzip_member_hashed_uncompressed() -> None:
    records = [record(i, f"2024-05-01T10:0{i}:00Z") for i in range(5)]
    made = build_log_file(records)
    raw = inflate_single_member(made.data)
    assert raw == b'{"Records":[' + b",".join(records) + b"]}"
    assert json.loads(raw)["Records"][2]["unknownField"] == {"a": 1}
    assert made.sha256_hex == hashlib.sha256(raw).hexdigest()
    assert (made.count, made.oldest_event_time, made.newest_event_time) == (
        5,
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:04:00Z",
    )
    assert build_log_file(records).data == made.data  # same records, same bytes
    assert made.data[4:8] == b"\0\0\0\0"  # mtime 0
    assert gzip.decompress(made.data) == raw
    # The stdlib reader agrees, and a second member would be refused by the CLI's reader.
    with pytest.raises(AssertionError, match="unexpected data"):
        inflate_single_member(made.data + made.data)


def test_log_file_times_given_by_the_caller() -> None:
    made = build_log_file([b'{"a":1}', b'{"a":2}'], event_times=[T1, T0])
    assert (made.oldest_event_time, made.newest_event_time) == (
        "2024-05-01T11:01:31Z",
        "2024-05-01T12:01:31Z",
    )
    empty = build_log_file([])
    assert inflate_single_member(empty.data) == b'{"Records":[]}'
    assert empty.newest_event_time is None


# -- digests -------------------------------------------------------------------------------------------


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


# -- signatures and keys -----------------------------------------------------------------------------


def test_signature_verifies_with_the_published_pkcs1_key(store: Store, tmp_path: Path) -> None:
    signer = signer_for(store, tmp_path, FixedClock(T0))
    key = digest_key("pfx", ACCOUNT, "us-east-1", "mytrail", "us-east-1", T1)
    current = signer.current_key(ACCOUNT, "us-east-1")
    made = build_digest(
        account=ACCOUNT, start=T0, end=T1, bucket="ctbucket", key=key, fingerprint=current.public.fingerprint
    )
    signature, fp = signer.sign(ACCOUNT, "us-east-1", made.signing_string.encode())
    assert fp == current.public.fingerprint
    assert len(signature) == 512
    assert signature == signature.lower()
    [published] = keys_between(store, ACCOUNT, "us-east-1", T0, T1)
    der = published.der
    assert base64.b64encode(der).startswith(b"MIIBCgKCAQEA")  # PKCS#1, 2048-bit
    assert (
        published.fingerprint == fp == hashlib.md5(der, usedforsecurity=False).hexdigest() == fingerprint(der)
    )
    data = json.loads(inflate_single_member(made.gz_bytes))
    assert data["digestPublicKeyFingerprint"] == fp
    to_sign = cli_signing_string(data, made.json_bytes).encode()
    # The AWS CLI's verifier.
    cli_key = pyrsa.PublicKey.load_pkcs1(der, format="DER")
    assert pyrsa.verify(to_sign, bytes.fromhex(signature), cli_key) == "SHA-256"
    with pytest.raises(pyrsa.pkcs1.VerificationError):
        pyrsa.verify(to_sign + b"x", bytes.fromhex(signature), cli_key)
    # And cryptography's.
    loaded = serialization.load_der_public_key(_spki_from_pkcs1(der))
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.key_size == 2048
    loaded.verify(bytes.fromhex(signature), to_sign, padding.PKCS1v15(), hashes.SHA256())


def _spki_from_pkcs1(der: bytes) -> bytes:
    """cryptography loads SubjectPublicKeyInfo; rebuild one around the PKCS#1 key via python-rsa."""
    key = pyrsa.PublicKey.load_pkcs1(der, format="DER")
    numbers = rsa.RSAPublicNumbers(key.e, key.n)
    public = numbers.public_key()
    assert public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1) == der
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_rotation_overlaps_and_old_keys_stay_listable(store: Store, tmp_path: Path) -> None:
    clock = FixedClock(T0)
    signer = signer_for(store, tmp_path, clock)
    first = signer.current_key(ACCOUNT, "us-east-1").public
    assert (first.valid_from, first.valid_until) == (T0, T0 + SIGNING_PERIOD)
    clock.advance(28 * DAY)
    assert signer.sign(ACCOUNT, "us-east-1", b"x")[1] == first.fingerprint
    clock.advance(1 * DAY + 1)  # past 29 days: a successor, while the first is still published
    second = signer.current_key(ACCOUNT, "us-east-1").public
    assert second.fingerprint != first.fingerprint
    assert second.valid_from == clock.now() < first.valid_until  # windows overlap
    now_keys = keys_between(store, ACCOUNT, "us-east-1", clock.now(), clock.now())
    assert [k.fingerprint for k in now_keys] == [first.fingerprint, second.fingerprint]
    clock.advance(40 * DAY)
    third = signer.current_key(ACCOUNT, "us-east-1").public
    assert [k.fingerprint for k in public_keys(store, ACCOUNT, "us-east-1")] == [
        first.fingerprint,
        second.fingerprint,
        third.fingerprint,
    ]
    # A validate-logs window over the first days still finds the first key; today's only the third.
    assert [k.fingerprint for k in keys_between(store, ACCOUNT, "us-east-1", T0, T0 + 7200)] == [
        first.fingerprint
    ]
    assert [k.fingerprint for k in keys_between(store, ACCOUNT, "us-east-1", clock.now(), clock.now())] == [
        third.fingerprint
    ]


def test_keys_are_per_account_and_region(store: Store, tmp_path: Path) -> None:
    signer = signer_for(store, tmp_path, FixedClock(T0))
    a = signer.current_key(ACCOUNT, "us-east-1").public.fingerprint
    b = signer.current_key(ACCOUNT, "eu-west-1").public.fingerprint
    c = signer.current_key("210987654321", "us-east-1").public.fingerprint
    assert len({a, b, c}) == 3
    assert [k.fingerprint for k in public_keys(store, ACCOUNT, "eu-west-1")] == [b]
    assert [k.fingerprint for k in public_keys(store, "210987654321", "us-east-1")] == [c]


def test_private_keys_are_encrypted_at_rest(store: Store, tmp_path: Path) -> None:
    signer = signer_for(store, tmp_path, FixedClock(T0))
    current = signer.current_key(ACCOUNT, "us-east-1")
    master_file = tmp_path / "master.key"
    assert stat.S_IMODE(master_file.stat().st_mode) == 0o600
    assert len(master_file.read_bytes()) == 32
    private = current.private
    secrets = [
        private.private_bytes(serialization.Encoding.DER, f, serialization.NoEncryption())
        for f in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL)
    ]
    prime = private.private_numbers().p.to_bytes(128, "big")
    [doc] = store.list_docs(KIND, ACCOUNT)
    stored = json.dumps(doc.body).encode()
    db = (tmp_path / "opentrail.db").read_bytes() + (tmp_path / "opentrail.db-wal").read_bytes()
    for blob in (stored, db):
        assert b"PRIVATE KEY" not in blob
        for secret in [*secrets, prime]:
            assert secret[-64:] not in blob
            assert base64.b64encode(secret)[-64:] not in blob
    # A fresh signer with the same master key opens it and signs the same way ...
    again = Signer.for_data_dir(store, tmp_path, FixedClock(T0))
    assert again.sign(ACCOUNT, "us-east-1", b"data")[0] == current.sign(b"data")
    # ... one with another master key cannot.
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(ConfigError, match="master key"):
        Signer(store, MasterKey.load_or_create(other), FixedClock(T0)).sign(ACCOUNT, "us-east-1", b"data")
    # Even when the envelope claims the other key's id, authentication fails.
    wrong = MasterKey(os.urandom(32))
    envelope = dict(doc.body["privateKey"], keyId=wrong.key_id)
    with pytest.raises(ConfigError, match="failed authentication"):
        wrong.open(envelope, b"anything")
    # The master key file is made once, not replaced.
    assert MasterKey.load_or_create(tmp_path).key_id == signer.master.key_id


def test_envelope_is_bound_to_its_record() -> None:
    master = MasterKey(b"k" * 32, random_bytes=lambda n: b"\1" * n)
    sealed = master.seal(b"secret", b"account-a")
    assert master.open(sealed, b"account-a") == b"secret"
    with pytest.raises(ConfigError, match="failed authentication"):
        master.open(sealed, b"account-b")
    assert master.seal(b"secret", b"account-a") == sealed  # injected randomness: deterministic


def test_concurrent_first_use_makes_one_key(store: Store, tmp_path: Path) -> None:
    # Eight signers (as eight workers would have), one store: the insert check lets one key win.
    clock = FixedClock(T0)
    master = MasterKey.load_or_create(tmp_path)
    barrier = threading.Barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            signer = Signer(store, master, clock, generate_key)
            barrier.wait()
            results.append(signer.sign(ACCOUNT, "ap-south-1", b"x")[1])
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 8
    assert len(set(results)) == 1
    assert len(public_keys(store, ACCOUNT, "ap-south-1")) == 1
