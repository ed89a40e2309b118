"""The chunk signatures of an aws-chunked upload (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, and with
``-TRAILER`` the signature of its trailing headers), as AWS's S3 documentation defines them ("Signature
Calculations for the Authorization Header: Transferring Payload in Multiple Chunks").

Each chunk carries the signature of its own bytes chained to the one before: the first to the request's
own signature (the seed, verified from the headers), the final empty chunk to the last data chunk, the
trailer to the final chunk. So no chunk can be altered, dropped, reordered or added, and nothing can be
appended after the final chunk, without the signing key.
"""

from __future__ import annotations

import hashlib
import hmac

from opentrail.errors import InvalidSignature
from opentrail.server.sigv4.canonical import EMPTY_SHA256, S3_SIGNATURE_MISMATCH, Credential, key_of

PAYLOAD_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"


class ChunkChain:
    """The chain of one upload's signatures, checked chunk by chunk as the body arrives."""

    def __init__(self, credential: Credential, secret: str) -> None:
        """``credential`` is the request's, its signature (the seed) already verified."""
        self._key = key_of(credential, secret)
        self._head = f"{credential.amz_date}\n{credential.scope}\n"
        self.previous = credential.signature

    def expected_chunk(self, data_sha256: str) -> str:
        """The signature the next chunk, whose bytes have SHA-256 ``data_sha256`` (hex), must carry."""
        text = f"{PAYLOAD_ALGORITHM}\n{self._head}{self.previous}\n{EMPTY_SHA256}\n{data_sha256}"
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def chunk(self, data_sha256: str, claimed: str) -> None:
        """Check the next chunk's signature and move the chain on to it."""
        self.previous = self._check(self.expected_chunk(data_sha256), claimed)

    def expected_trailer(self, canonical: bytes) -> str:
        """The signature of the trailing headers, ``canonical`` being each ``name:value\\n`` as sent."""
        digest = hashlib.sha256(canonical).hexdigest()
        text = f"{TRAILER_ALGORITHM}\n{self._head}{self.previous}\n{digest}"
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def trailer(self, canonical: bytes, claimed: str) -> None:
        self.previous = self._check(self.expected_trailer(canonical), claimed)

    @staticmethod
    def _check(expected: str, claimed: str) -> str:
        if not hmac.compare_digest(expected.encode(), claimed.encode("latin-1", "replace")):
            raise InvalidSignature(S3_SIGNATURE_MISMATCH)
        return expected
