"""Digest signing keys: RSA-2048 per account and region, rotated with overlapping validity (§5.7).

A key signs for ``SIGNING_PERIOD`` (30 days) from its start and is published for exactly that window.
A successor is made once the current key is ``ROTATE_AFTER`` (29 days) old, so the windows overlap by
a day and a digest signed near a boundary is always covered by a published key.

Keys are store documents (kind ``signing-key``, name = fingerprint). The body holds the validity
window, the public key (PKCS#1 DER, base64) and the private key sealed by ``encryption.MasterKey``; the
private half never reaches the store in the clear. Two signers needing the first key of an (account,
region) at once end with one key: the insert's check refuses a second current key and the loser
re-reads the winner's.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from opentrail.clock import Clock
from opentrail.errors import ConfigError, ConflictError
from opentrail.storage.encryption import MasterKey
from opentrail.store import Doc, Store

KIND = "signing-key"
KEY_BITS = 2048
DAY = 86_400.0
SIGNING_PERIOD = 30 * DAY
ROTATE_AFTER = 29 * DAY
# A new current key is normally found on the first re-read; the bound only stops a livelock.
_MAX_ATTEMPTS = 5

KeyFactory = Callable[[], rsa.RSAPrivateKey]


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def public_der(key: rsa.RSAPublicKey) -> bytes:
    """PKCS#1 ``RSAPublicKey`` DER: the only form the AWS CLI's validator loads."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def fingerprint(der: bytes) -> str:
    # MD5 is CloudTrail's published fingerprint (a name for the key, not a security check).
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A key as ListPublicKeys publishes it."""

    account: str
    region: str
    der: bytes
    fingerprint: str
    valid_from: float
    valid_until: float

    def overlaps(self, start: float, end: float) -> bool:
        return self.valid_from <= end and start <= self.valid_until

    def signs_at(self, now: float) -> bool:
        """Whether this key is the one to sign with at ``now`` (not yet due for rotation)."""
        return self.valid_from <= now < self.valid_from + ROTATE_AFTER


def _public(doc: Doc) -> PublicKey:
    body = doc.body
    return PublicKey(
        account=doc.account,
        region=doc.region,
        der=base64.b64decode(body["publicKey"]),
        fingerprint=body["fingerprint"],
        valid_from=float(body["validityStartTime"]),
        valid_until=float(body["validityEndTime"]),
    )


def _arn(account: str, region: str, fp: str) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:publickey/{fp}"


def _aad(account: str, region: str, fp: str) -> bytes:
    # Binds the sealed private key to its own record: copied into another account's doc, it won't open.
    return f"{KIND}\0{account}\0{region}\0{fp}".encode()


def public_keys(store: Store, account: str, region: str) -> list[PublicKey]:
    """Every key of one account and region, oldest first. Needs no master key."""
    keys = [_public(d) for d in store.list_docs(KIND, account) if d.region == region]
    return sorted(keys, key=lambda k: (k.valid_from, k.fingerprint))


def keys_between(store: Store, account: str, region: str, start: float, end: float) -> list[PublicKey]:
    """Keys whose published validity overlaps [start, end] (what ListPublicKeys returns)."""
    return [k for k in public_keys(store, account, region) if k.overlaps(start, end)]


@dataclass
class SigningKey:
    public: PublicKey
    private: rsa.RSAPrivateKey = field(repr=False)

    def sign(self, data: bytes) -> str:
        """RSA PKCS#1 v1.5 over SHA-256 ("SHA256withRSA"), hex-encoded."""
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


class Signer:
    """Finds or makes the current key of an (account, region) and signs with it."""

    def __init__(
        self,
        store: Store,
        master: MasterKey,
        clock: Clock,
        new_key: KeyFactory = generate_key,
    ) -> None:
        self.store = store
        self.master = master
        self.clock = clock
        self.new_key = new_key
        # Decrypted keys by fingerprint; a key never changes once stored.
        self._cache: dict[str, rsa.RSAPrivateKey] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_data_dir(cls, store: Store, data_dir: Path, clock: Clock) -> Signer:
        """The deployment's signer: keys in ``store``, sealed by ``<data dir>/master.key``."""
        return cls(store, MasterKey.load_or_create(data_dir), clock)

    def sign(self, account: str, region: str, data: bytes) -> tuple[str, str]:
        """(signature hex, fingerprint of the signing key) for ``data``, signed now."""
        key = self.current_key(account, region)
        return key.sign(data), key.public.fingerprint

    def current_key(self, account: str, region: str) -> SigningKey:
        """The key that signs now; created (and an older one superseded) when none is current."""
        for _ in range(_MAX_ATTEMPTS):
            now = self.clock.now()
            current = self._current(account, region, now)
            if current is not None:
                return self._unseal(current)
            try:
                return self._create(account, region, now)
            except ConflictError:
                continue  # another signer made it first; read theirs
        raise ConflictError(f"no signing key could be settled for account {account} in {region}")

    def _current(self, account: str, region: str, now: float) -> Doc | None:
        docs = [d for d in self.store.list_docs(KIND, account) if d.region == region]
        return _newest_current(docs, now)

    def _create(self, account: str, region: str, now: float) -> SigningKey:
        private = self.new_key()
        der = public_der(private.public_key())
        fp = fingerprint(der)
        pkcs8 = private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        body = {
            "fingerprint": fp,
            "validityStartTime": now,
            "validityEndTime": now + SIGNING_PERIOD,
            "publicKey": base64.b64encode(der).decode(),
            "privateKey": self.master.seal(pkcs8, _aad(account, region, fp)),
        }

        def only_one_current(existing: list[Doc]) -> None:
            same_region = [d for d in existing if d.region == region]
            if _newest_current(same_region, now) is not None:
                raise ConflictError(f"a current signing key already exists for {account} in {region}")

        doc = Doc(KIND, account, region, fp, _arn(account, region, fp), body)
        self.store.insert_doc(doc, only_one_current)
        with self._lock:
            self._cache[fp] = private
        return SigningKey(_public(doc), private)

    def _unseal(self, doc: Doc) -> SigningKey:
        public = _public(doc)
        with self._lock:
            private = self._cache.get(public.fingerprint)
        if private is None:
            aad = _aad(doc.account, doc.region, public.fingerprint)
            pkcs8 = self.master.open(doc.body["privateKey"], aad)
            loaded = serialization.load_der_private_key(pkcs8, password=None)
            if not isinstance(loaded, rsa.RSAPrivateKey):
                raise ConfigError(f"signing key {public.fingerprint} is not an RSA key")
            private = loaded
            with self._lock:
                self._cache[public.fingerprint] = private
        return SigningKey(public, private)


def _newest_current(docs: list[Doc], now: float) -> Doc | None:
    current = [d for d in docs if _public(d).signs_at(now)]
    return max(current, key=lambda d: float(d.body["validityStartTime"]), default=None)
