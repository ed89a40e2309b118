"""The public keys a run checks digest signatures with: ListPublicKeys' answer for the window the AWS CLI
asks for, each key loaded the AWS CLI's way (PKCS#1 only) the first time a digest names it.

``cryptography`` is imported only here and only when needed (about 45 ms): ``preload_crypto`` lets a
caller pay for it on a thread while its first requests are in flight.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from opentrail.errors import ValidationAborted
from opentrail.validate.times import display
from opentrail.validate.verdicts import Invalid

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


def preload_crypto() -> None:
    """Import what checks signatures, so that a caller can do it on a thread while its first requests
    are in flight instead of at the first digest."""
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: F401
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: F401


class PublicKeys:
    """DER bytes by fingerprint, and the keys loaded from them so far (a run checks every digest
    against one or two keys: each is parsed once)."""

    def __init__(self, der: dict[str, bytes]) -> None:
        self.der = der
        self._loaded: dict[str, rsa.RSAPublicKey] = {}

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self.der

    def load(self, fingerprint: str) -> rsa.RSAPublicKey:
        """The key, or ``Invalid`` in the AWS CLI's words when it is not PKCS#1."""
        key = self._loaded.get(fingerprint)
        if key is None:
            key = self._loaded[fingerprint] = _pkcs1_key(self.der[fingerprint], fingerprint)
        return key

    def signature_valid(self, fingerprint: str, signature: bytes, message: bytes) -> bool:
        """RSA PKCS#1 v1.5 with SHA-256, as CloudTrail signs digests."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self.load(fingerprint).verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


def _pkcs1_key(der: bytes, fingerprint: str) -> rsa.RSAPublicKey:
    # cryptography also reads SPKI; the AWS CLI reads PKCS#1 only, so anything that does not round-trip
    # to the same PKCS#1 bytes is refused in its words.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    refused = Invalid(f"Unable to load PKCS #1 key with fingerprint {fingerprint}")
    try:
        key = serialization.load_der_public_key(der)
    except ValueError:
        raise refused from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise refused
    if key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1) != der:
        raise refused
    return key


def load_public_keys(
    list_public_keys: Callable[[datetime, datetime], list[dict[str, Any]]], start: datetime, end: datetime
) -> PublicKeys:
    """The keys for the window the AWS CLI asks for: [start, end + 2 h]."""
    until = end + timedelta(hours=2)
    listed = list_public_keys(start, until)
    if not listed:
        raise ValidationAborted(f"No public keys found between {display(start)} and {display(until)}")
    der = {}
    for item in listed:
        value = item["Value"]
        # base64.b64decode without importing base64: ASCII text, non-alphabet characters skipped.
        der[str(item["Fingerprint"])] = (
            binascii.a2b_base64(value.encode("ascii")) if isinstance(value, str) else bytes(value)
        )
    return PublicKeys(der)
