"""SSE-KMS for the local bucket store: object bytes sealed at rest with AES-256-GCM.

There is no KMS service behind the local store, so each KMS key ARN stands for a data key derived from
the deployment's master key (``<data dir>/master.key``, see ``encryption``): the same ARN always opens
what it sealed, and a copy of the buckets without the master key reveals nothing. A sealed file is
``MAGIC || nonce || ciphertext+tag``; the bucket and key are the associated data, so a file moved to
another key no longer opens.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from opentrail.errors import SealFailed
from opentrail.storage.encryption import NONCE_BYTES, MasterKey, RandomBytes

MAGIC = b"OTSSEKMS1\0"


class ObjectSealer:
    """Seals and opens object bytes under a KMS key ARN."""

    def __init__(self, master: MasterKey, random_bytes: RandomBytes = os.urandom) -> None:
        self.master_key_id = master.key_id
        self._master = master
        self._random = random_bytes
        self._keys: dict[str, AESGCM] = {}
        self._lock = threading.Lock()

    def _aead(self, key_arn: str) -> AESGCM:
        with self._lock:
            aead = self._keys.get(key_arn)
            if aead is None:
                aead = AESGCM(self._master.derive(b"sse-kms\0" + key_arn.encode()))
                self._keys[key_arn] = aead
            return aead

    def seal(self, key_arn: str, bucket: str, key: str, data: bytes) -> bytes:
        nonce = self._random(NONCE_BYTES)
        return MAGIC + nonce + self._aead(key_arn).encrypt(nonce, data, _aad(bucket, key))

    def open(self, key_arn: str, bucket: str, key: str, sealed: bytes) -> bytes:
        if not sealed.startswith(MAGIC):
            raise SealFailed(f"object {key!r} in bucket {bucket} is not sealed")
        start = len(MAGIC)
        nonce, body = sealed[start : start + NONCE_BYTES], sealed[start + NONCE_BYTES :]
        try:
            return self._aead(key_arn).decrypt(nonce, body, _aad(bucket, key))
        except (InvalidTag, ValueError):
            raise SealFailed(
                f"object {key!r} in bucket {bucket} failed authentication under KMS key {key_arn}: "
                "it was altered or moved, or master.key is not the one that sealed it"
            ) from None


def _aad(bucket: str, key: str) -> bytes:
    return b"opentrail-sse-kms\0" + bucket.encode() + b"\0" + key.encode()
