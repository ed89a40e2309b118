"""Envelope encryption for secrets the store keeps: AES-256-GCM under a master key on local disk.

The master key is 32 random bytes in ``<data dir>/master.key`` (mode 0600), created once. Only
ciphertext enters the store, so a copy of the database alone (a backup, a replica, a stolen dump)
reveals no private key. Each envelope names the master key that sealed it (a short id, not the key),
so a replaced or wrong ``master.key`` is reported as such rather than as corrupt data.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from opentrail.errors import ConfigError

KEY_BYTES = 32
NONCE_BYTES = 12
ALGORITHM = "AES-256-GCM"
MASTER_KEY_FILE = "master.key"

RandomBytes = Callable[[int], bytes]


class MasterKey:
    """Seals and opens envelopes; ``aad`` binds an envelope to the record it belongs to."""

    def __init__(self, key: bytes, random_bytes: RandomBytes = os.urandom) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigError(f"a master key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self._key = key
        self._random = random_bytes
        # Identifies the key without revealing it (a hash of a 256-bit random key).
        self.key_id = hashlib.sha256(b"opentrail-master-key-id\0" + key).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, data_dir: Path, random_bytes: RandomBytes = os.urandom) -> MasterKey:
        """The deployment's master key, created on first use with mode 0600."""
        path = data_dir / MASTER_KEY_FILE
        try:
            # O_EXCL: two processes starting at once must not each write a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(random_bytes(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
        data = path.read_bytes()
        if len(data) != KEY_BYTES:
            # A concurrent creator may not have finished writing; a short file that stays short is
            # damage, and is reported rather than replaced (replacing it would orphan every key).
            raise ConfigError(
                f"{path} must hold exactly {KEY_BYTES} bytes, got {len(data)}; restore it from backup"
            )
        return cls(data, random_bytes)

    def derive(self, purpose: bytes) -> bytes:
        """A key of its own for ``purpose`` (HKDF-SHA256): the same master key and purpose give the same
        key, different purposes unrelated ones, and none reveals the master key."""
        info = b"opentrail-derive\0" + purpose
        hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info)
        return hkdf.derive(self._key)

    def seal(self, plaintext: bytes, aad: bytes) -> dict[str, Any]:
        nonce = self._random(NONCE_BYTES)
        return {
            "algorithm": ALGORITHM,
            "keyId": self.key_id,
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(self._aead.encrypt(nonce, plaintext, aad)).decode(),
        }

    def open(self, envelope: dict[str, Any], aad: bytes) -> bytes:
        if envelope.get("algorithm") != ALGORITHM:
            raise ConfigError(f"envelope algorithm must be {ALGORITHM}, got {envelope.get('algorithm')!r}")
        key_id = envelope.get("keyId")
        if key_id != self.key_id:
            raise ConfigError(
                f"a secret was sealed with master key {key_id!r} but {MASTER_KEY_FILE} holds key "
                f"{self.key_id!r}; restore the original {MASTER_KEY_FILE}"
            )
        try:
            nonce = base64.b64decode(envelope["nonce"], validate=True)
            ciphertext = base64.b64decode(envelope["ciphertext"], validate=True)
            return self._aead.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, KeyError, ValueError, TypeError):
            raise ConfigError(
                f"a secret sealed with master key {self.key_id!r} failed authentication: it was altered, "
                "or moved to another record"
            ) from None
