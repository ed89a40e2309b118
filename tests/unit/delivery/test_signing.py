"""Signing keys: signatures the AWS CLI's verifier accepts (the python ``rsa`` package, as well as
``cryptography``), rotation, per account and region, encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rsa as pyrsa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from opentrail.clock import FixedClock
from opentrail.delivery.digests import build_digest
from opentrail.delivery.layout import digest_key
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
from tests.support.awscli import cli_signing_string, inflate_single_member

ACCOUNT = "123456789012"

T0 = datetime(2024, 5, 1, 11, 1, 31, tzinfo=UTC).timestamp()
T1 = T0 + 3600  # 2024-05-01T12:01:31Z


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
