"""Opaque pagination tokens, sealed with the server's secret and bound to the query that made them.

A token is ``base64url(json(payload)) . base64url(hmac)``. The payload carries a fingerprint of the
query's parameters, so a token reused with different parameters, edited, or forged is refused with
``InvalidNextTokenException`` instead of silently returning the wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import msgspec

from opentrail.errors import ApiError, InvalidNextToken

MAX_TOKEN_CHARS = 1000


def query_fingerprint(params: Any) -> str:
    """A short, stable digest of the query parameters a token is bound to."""
    return hashlib.sha256(msgspec.json.encode(params, order="sorted")).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSealer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:16]

    def seal(self, scope: str, position: Any) -> str:
        body = msgspec.json.encode({"s": scope, "p": position})
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def open(
        self, token: str, scope: str, error: type[ApiError] = InvalidNextToken, name: str = "NextToken"
    ) -> Any:
        """The position sealed in ``token``; raises ``error`` if it was altered or made for another query."""
        if not isinstance(token, str) or not 1 <= len(token) <= MAX_TOKEN_CHARS:
            raise error(f"{name} must be a token returned by a previous call with the same parameters")
        body_text, _, mac_text = token.partition(".")
        try:
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise error(f"{name} is not a token this server issued: {token[:64]!r}") from None
        # The decoder skips stray characters and ignores unused low bits, so one token has many
        # spellings; accept only the one this server issued, so that any edit is refused.
        if _b64(body) != body_text or _b64(mac) != mac_text:
            raise error(f"{name} is not a token this server issued: {token[:64]!r}")
        if not hmac.compare_digest(mac, self._mac(body)):
            raise error(f"{name} is not a token this server issued (it was altered or forged)")
        payload = msgspec.json.decode(body)
        if payload.get("s") != scope:
            raise error(f"{name} was issued for a call with different parameters; repeat the call unchanged")
        return payload.get("p")
