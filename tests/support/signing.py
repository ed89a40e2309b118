"""Signatures made the way an attacker needs them: botocore's own SigV4 signers at a time of the test's
choosing, for any method, path and service; SigV4 and SigV2 presigned S3 URLs; and an aws-chunked body
signed chunk by chunk (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``), which botocore does not produce."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from botocore.auth import SIGV4_TIMESTAMP, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from tests.support.server import Credentials

STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _stamp(request: AWSRequest, when: datetime | None) -> None:
    if when is not None:
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)


class _SignedAt:
    """Signs at ``when`` instead of "now" (botocore always signs now); mixed into botocore's signers."""

    when: datetime | None

    def __init__(
        self, credentials: BotoCredentials, service: str, region: str, when: datetime | None
    ) -> None:
        super().__init__(credentials, service, region)  # type: ignore[call-arg]
        self.when = when

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        _stamp(request, self.when)
        super()._modify_request_before_signing(request)  # type: ignore[misc]


class HeaderSigner(_SignedAt, SigV4Auth):
    """SigV4 in the Authorization header, signed at ``when``."""


class S3HeaderSigner(_SignedAt, S3SigV4Auth):
    """S3's SigV4 (the payload hash in X-Amz-Content-SHA256, signed), at ``when``."""


class S3QuerySigner(S3SigV4QueryAuth):
    """A SigV4 presigned S3 URL, signed at ``when`` and valid ``expires`` seconds."""

    def __init__(
        self,
        credentials: BotoCredentials,
        region: str,
        expires: int,
        when: datetime | None,
        service: str = "s3",
    ) -> None:
        super().__init__(credentials, service, region, expires=expires)
        self.when = when

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        _stamp(request, self.when)
        super()._modify_request_before_signing(request)


def boto_credentials(
    creds: Credentials, secret: str | None = None, key_id: str | None = None
) -> BotoCredentials:
    return BotoCredentials(key_id or creds.access_key_id, secret or creds.secret)


def sign(
    url: str,
    method: str,
    headers: dict[str, str],
    body: bytes,
    creds: Credentials,
    *,
    service: str,
    region: str = "us-east-1",
    when: datetime | None = None,
    secret: str | None = None,
    key_id: str | None = None,
) -> dict[str, str]:
    """The headers botocore would send, Authorization included (S3 also signs its payload hash)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = S3HeaderSigner if service == "s3" and "X-Amz-Content-SHA256" not in headers else HeaderSigner
    signer(boto_credentials(creds, secret, key_id), service, region, when).add_auth(request)
    return dict(request.headers.items())


def presign(
    url: str,
    method: str,
    creds: Credentials,
    *,
    expires: int = 300,
    region: str = "us-east-1",
    when: datetime | None = None,
    secret: str | None = None,
    service: str = "s3",
    headers: dict[str, str] | None = None,
) -> str:
    """A SigV4 presigned URL (an S3 one unless ``service`` says otherwise)."""
    request = AWSRequest(method=method, url=url, headers=headers or {})
    S3QuerySigner(boto_credentials(creds, secret), region, expires, when, service).add_auth(request)
    return str(request.url)


def presign_v2(
    url: str, method: str, creds: Credentials, *, expires: int = 300, headers: dict[str, str] | None = None
) -> str:
    """A SigV2 presigned S3 URL (``aws s3 presign`` of CLI v1), ``Expires`` ``expires`` s from now."""
    request = AWSRequest(method=method, url=url, headers=headers or {})
    HmacV1QueryAuth(boto_credentials(creds), expires=expires).add_auth(request)
    return str(request.url)


def signature_of(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1]


def streaming_upload(
    url: str, data: bytes, creds: Credentials, chunk: int = 65536, region: str = "us-east-1", **mangle: Any
) -> tuple[dict[str, str], bytes]:
    """Headers and aws-chunked body of a PutObject whose chunks are each signed, chained from the
    request's own signature (AWS's "Signature Calculations for the Authorization Header: Transferring
    Payload in Multiple Chunks"). ``mangle`` breaks it: ``bad_chunk=n`` corrupts chunk n's signature."""
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    encoded_length = sum(len(f"{len(p):x};chunk-signature=".encode()) + 64 + 2 + len(p) + 2 for p in pieces)
    headers = {
        "X-Amz-Content-SHA256": STREAMING,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Length": str(encoded_length),
    }
    when = datetime.now(UTC)
    signed = sign(url, "PUT", headers, b"", creds, service="s3", region=region, when=when)
    amz_date = when.strftime(SIGV4_TIMESTAMP)
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    key = hmac.new(f"AWS4{creds.secret}".encode(), amz_date[:8].encode(), hashlib.sha256).digest()
    for part in (region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    previous = signature_of(signed["Authorization"])
    body = b""
    for number, piece in enumerate(pieces):
        text = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        shown = ("0" * 64) if mangle.get("bad_chunk") == number else previous
        body += f"{len(piece):x};chunk-signature={shown}\r\n".encode() + piece + b"\r\n"
    assert len(body) == encoded_length
    return signed, body
