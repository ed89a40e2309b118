"""The Authorization header form: its parts, its date, and what its payload hash may say of the body.

Everything here but the comparison with the body's own hash is decided from the headers alone, so a
request that fails it is refused before a byte of its body is read. ``UNSIGNED-PAYLOAD`` and the
``STREAMING-*`` values of x-amz-content-sha256 leave the body out of the signature (or sign it chunk by
chunk); AWS accepts them for S3 only, and so does this server: on every other service the signature
covers the body's SHA-256, whatever the header says.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from opentrail.errors import (
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    PayloadHashMismatch,
    S3Error,
    SignatureExpired,
)
from opentrail.server.sigv4.canonical import (
    ALGORITHM,
    Credential,
    Request,
    amz_epoch,
    check_signature,
    signature,
)

MAX_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<headers>[^,\s]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # as events checks a record's awsRegion
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
S3_PAYLOAD_CLAIMS = frozenset(
    [UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER]
)


def parse_authorization(request: Request) -> Credential:
    """Read the credential scope; raises 403 errors for missing or malformed signatures."""
    header = request.headers.get("authorization")
    if header is None:
        raise MissingAuthenticationToken(
            "Missing Authentication Token: the request has no Authorization header"
        )
    match = _AUTH.match(header.strip())
    if match is None:
        raise IncompleteSignature(
            f"Authorization header must be '{ALGORITHM} Credential=..., SignedHeaders=..., "
            f"Signature=<64 hex>', got {header[:120]!r}"
        )
    parts = match["cred"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise IncompleteSignature(
            f"Credential must be '<key>/<yyyymmdd>/<region>/<service>/aws4_request', got {match['cred']!r}"
        )
    amz_date = request.headers.get("x-amz-date", "")
    if not _AMZ_DATE.fullmatch(amz_date):
        raise IncompleteSignature(f"X-Amz-Date must be YYYYMMDDTHHMMSSZ, got {amz_date!r}")
    try:
        amz_epoch(amz_date)
    except ValueError:
        raise IncompleteSignature(
            f"X-Amz-Date must be a real UTC time in the form YYYYMMDDTHHMMSSZ, got {amz_date!r}"
        ) from None
    if amz_date[:8] != parts[1]:
        raise InvalidSignature(f"Credential date {parts[1]} does not match X-Amz-Date {amz_date}")
    if not _REGION.fullmatch(parts[2]):
        # What AWS says of a scope naming no region; the region becomes every audit record's awsRegion.
        raise InvalidSignature(f"Credential should be scoped to a valid region, got {parts[2]!r}")
    signed = tuple(match["headers"].split(";"))
    if "host" not in signed:
        raise IncompleteSignature("SignedHeaders must include host")
    return Credential(parts[0], parts[1], parts[2], parts[3], signed, match["sig"], amz_date)


def check_time(credential: Credential, now: float) -> None:
    signed_at = amz_epoch(credential.amz_date)
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        server = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        raise SignatureExpired(
            f"Signature expired: {credential.amz_date} is more than {MAX_SKEW_SECONDS // 60} minutes "
            f"from the server time {server}"
        )


def payload_claim(request: Request, credential: Credential) -> str | None:
    """What the signature says of the body before any of it is read: the x-amz-content-sha256 value
    the canonical request names (a SHA-256 the body must then have, or for S3 a value that leaves the
    body out of the signature or signs it chunk by chunk), or None when the signature covers the SHA-256
    of a body only reading it tells."""
    if "authorization" not in request.headers:
        return UNSIGNED_PAYLOAD  # a presigned URL (S3 only): its signature never covers the body
    claim = request.headers.get("x-amz-content-sha256")
    if claim is None or _SHA256_HEX.fullmatch(claim):
        return claim
    if credential.service != "s3":
        raise PayloadHashMismatch(
            f"x-amz-content-sha256 {claim[:80]!r} leaves the request body out of the signature, which "
            f"AWS accepts for service s3 only; service {credential.service} signs the SHA-256 of the body"
        )
    if claim not in S3_PAYLOAD_CLAIMS:
        # S3's own words for a value it does not know.
        raise S3Error(
            "InvalidArgument",
            400,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
            "or a valid sha256 value.",
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=claim[:80],
        )
    return claim


def check_payload(claim: str | None, body_sha256: str) -> None:
    """A claimed SHA-256 must be the body's (the values that are no hash say nothing of it)."""
    if claim is not None and _SHA256_HEX.fullmatch(claim) and claim != body_sha256:
        raise PayloadHashMismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )


def verify(request: Request, credential: Credential, secret: str, payload_hash: str | None = None) -> None:
    """Raise ``InvalidSignatureException`` unless the request was signed with ``secret``.

    ``payload_hash`` is what the canonical request names: the claim (``payload_claim``) when the headers
    are checked before the body, the body's SHA-256 once read; by default it is decided from
    ``request.body``, which must then be the whole body."""
    if payload_hash is None:
        claim = payload_claim(request, credential)
        actual = hashlib.sha256(request.body).hexdigest()
        check_payload(claim, actual)
        payload_hash = claim or actual
    check_signature(signature(request, credential, secret, payload_hash), credential)
