"""Envelope encryption (``storage/encryption.py``): a master key created once with mode 0600, envelopes
that open only under the key and associated data that sealed them -- a replaced master key reported as
such, altered or moved data as failed authentication -- and derived keys unrelated across purposes."""

from __future__ import annotations

import base64
import itertools
import os
import stat
from pathlib import Path

import pytest

from opentrail.errors import ConfigError
from opentrail.storage.encryption import ALGORITHM, KEY_BYTES, MASTER_KEY_FILE, MasterKey

PLAINTEXT = b"-----BEGIN PRIVATE KEY----- not really"


def test_the_master_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = MasterKey.load_or_create(tmp_path)
    path = tmp_path / MASTER_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == KEY_BYTES
    again = MasterKey.load_or_create(tmp_path)
    assert again.key_id == first.key_id
    envelope = first.seal(PLAINTEXT, b"record-1")
    assert again.open(envelope, b"record-1") == PLAINTEXT


def test_a_damaged_master_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    (tmp_path / MASTER_KEY_FILE).write_bytes(b"short")
    with pytest.raises(ConfigError, match="must hold exactly 32 bytes, got 5; restore it from backup"):
        MasterKey.load_or_create(tmp_path)
    assert (tmp_path / MASTER_KEY_FILE).read_bytes() == b"short"


def test_a_key_of_another_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="a master key must be 32 bytes, got 16"):
        MasterKey(b"k" * 16)


def test_an_envelope_names_its_key_and_hides_the_plaintext() -> None:
    master = MasterKey(os.urandom(KEY_BYTES))
    envelope = master.seal(PLAINTEXT, b"record-1")
    assert set(envelope) == {"algorithm", "keyId", "nonce", "ciphertext"}
    assert (envelope["algorithm"], envelope["keyId"]) == (ALGORITHM, master.key_id)
    assert PLAINTEXT not in base64.b64decode(envelope["ciphertext"])
    assert len(base64.b64decode(envelope["nonce"])) == 12
    # The id names the key without being it.
    assert len(master.key_id) == 16
    assert master.key_id not in base64.b64encode(master.derive(b"x")).decode()


def test_each_seal_takes_a_fresh_nonce() -> None:
    counter = itertools.count()
    master = MasterKey(b"m" * KEY_BYTES, lambda n: next(counter).to_bytes(n, "big"))
    one, two = master.seal(PLAINTEXT, b"a"), master.seal(PLAINTEXT, b"a")
    assert one["nonce"] != two["nonce"]
    assert one["ciphertext"] != two["ciphertext"]


def test_an_envelope_opens_only_for_its_record() -> None:
    master = MasterKey(os.urandom(KEY_BYTES))
    envelope = master.seal(PLAINTEXT, b"record-1")
    with pytest.raises(
        ConfigError, match="failed authentication: it was altered, or moved to another record"
    ):
        master.open(envelope, b"record-2")


def test_altered_envelopes_fail_authentication() -> None:
    master = MasterKey(os.urandom(KEY_BYTES))
    envelope = master.seal(PLAINTEXT, b"r")
    raw = bytearray(base64.b64decode(envelope["ciphertext"]))
    raw[0] ^= 1
    for altered in (
        {**envelope, "ciphertext": base64.b64encode(bytes(raw)).decode()},
        {**envelope, "nonce": base64.b64encode(b"\0" * 12).decode()},
        {**envelope, "nonce": "not base64!"},
        {k: v for k, v in envelope.items() if k != "ciphertext"},
    ):
        with pytest.raises(ConfigError, match="failed authentication"):
            master.open(altered, b"r")


def test_another_master_key_is_named_as_such() -> None:
    sealed_by = MasterKey(os.urandom(KEY_BYTES))
    other = MasterKey(os.urandom(KEY_BYTES))
    envelope = sealed_by.seal(PLAINTEXT, b"r")
    with pytest.raises(
        ConfigError, match=f"sealed with master key '{sealed_by.key_id}' but master.key holds"
    ):
        other.open(envelope, b"r")
    with pytest.raises(ConfigError, match="envelope algorithm must be AES-256-GCM"):
        sealed_by.open({**envelope, "algorithm": "ROT13"}, b"r")


def test_derived_keys() -> None:
    master = MasterKey(b"m" * KEY_BYTES)
    key = master.derive(b"sse-kms\0arn:1")
    assert len(key) == KEY_BYTES
    assert MasterKey(b"m" * KEY_BYTES).derive(b"sse-kms\0arn:1") == key  # same key, same purpose
    assert master.derive(b"sse-kms\0arn:2") != key
    assert MasterKey(b"n" * KEY_BYTES).derive(b"sse-kms\0arn:1") != key
    assert key != b"m" * KEY_BYTES
