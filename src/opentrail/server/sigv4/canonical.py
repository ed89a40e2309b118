"""The canonical request, the signing key and the signature: what every SigV4 form signs alike.

The server knows every secret, so it rebuilds the canonical request from what arrived, signs it with the
stored secret and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import cachetools

from opentrail.errors import InvalidSignature

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# AWS's words when a signature does not verify (S3 says "key" where the JSON services say "AWS Secret
# Access Key").
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)
S3_SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


@dataclass(frozen=True, slots=True)
class Credential:
    """The parts of a signed request's credential scope."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class Request:
    """What verification needs of an HTTP request. Header names are lower case. ``body`` is what has
    been read of it: nothing while the headers are checked, the whole body when its hash is needed."""

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes = b""


def amz_epoch(stamp: str) -> float:
    """Epoch seconds of a ``YYYYMMDDTHHMMSSZ`` stamp (digits checked by the caller); ValueError when it
    is not a real time. What ``strptime`` decides, at a tenth of its cost (it runs on every request)."""
    fields = (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])
    year, month, day, hour, minute, second = map(int, fields)
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def _uri_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def canonical_query(query_string: str) -> str:
    pairs = []
    for item in query_string.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((_uri_encode(unquote(key)), _uri_encode(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_path(raw_path: str, service: str) -> str:
    if service == "s3":
        return raw_path or "/"
    # Other services sign the path URI-encoded once more, as botocore does.
    return quote(raw_path or "/", safe="/~")


def canonical_request(request: Request, credential: Credential, payload_hash: str) -> str:
    lines = []
    for name in credential.signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise InvalidSignature(f"signed header {name!r} is not in the request")
        # Trimmed, runs of whitespace collapsed to one space: str.split() splits on what \s matches.
        lines.append(f"{name}:{' '.join(value.split())}\n")
    return "\n".join(
        [
            request.method,
            canonical_path(request.raw_path, credential.service),
            canonical_query(request.query_string),
            "".join(lines),
            ";".join(credential.signed_headers),
            payload_hash,
        ]
    )


# Derived signing keys by (secret, date, region, service): four HMACs a request saves. A pure function,
# memoised; a key is valid for one day, so the least recently used go first.
@cachetools.cached(cachetools.LRUCache(maxsize=4096), lock=threading.Lock())
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def key_of(credential: Credential, secret: str) -> bytes:
    return signing_key(secret, credential.date, credential.region, credential.service)


def signature(request: Request, credential: Credential, secret: str, payload_hash: str | None = None) -> str:
    """The signature of ``request`` whose canonical request names ``payload_hash`` (by default the
    x-amz-content-sha256 header, or else the SHA-256 of ``request.body``)."""
    if payload_hash is None:
        payload_hash = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    digest = hashlib.sha256(canonical_request(request, credential, payload_hash).encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{credential.amz_date}\n{credential.scope}\n{digest}"
    return hmac.new(key_of(credential, secret), string_to_sign.encode(), hashlib.sha256).hexdigest()


def check_signature(expected: str, credential: Credential) -> None:
    """InvalidSignatureException, in the words of the credential's service, unless they match."""
    if not hmac.compare_digest(expected, credential.signature):
        s3 = credential.service == "s3"
        raise InvalidSignature(S3_SIGNATURE_MISMATCH if s3 else SIGNATURE_MISMATCH)
