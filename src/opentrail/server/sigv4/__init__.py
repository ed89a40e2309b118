"""AWS Signature Version 4: verify what boto3, the AWS CLI and the AWS SDKs sign.

    canonical   the canonical request, the signing key and the signature every form signs alike
    header      the Authorization header form, its date, and what its payload hash may say of the body
    presigned   the query-string forms: SigV4 presigned URLs and S3's legacy SigV2 ones
    chunks      the chained chunk signatures of an aws-chunked S3 upload

A request is checked in two steps, so that a request that fails on its headers is refused before a byte
of its body is read: ``read_credential`` (the form, the scope, the date) and, once the key is known,
the signature over the payload hash the headers claim (``payload_claim``); only a body whose hash the
signature covers without naming it in a header is read before the signature is checked. Any region is
accepted (validate-logs signs S3 requests for whichever region GetBucketLocation reports).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from opentrail.errors import IncompleteSignature, InvalidSignature, S3Error
from opentrail.server.sigv4.canonical import Credential, Request, signature
from opentrail.server.sigv4.header import (
    S3_PAYLOAD_CLAIMS,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    check_payload,
    check_time,
    parse_authorization,
    payload_claim,
    verify,
)
from opentrail.server.sigv4.presigned import (
    check_presigned_time,
    is_presigned,
    is_presigned_v2,
    parse_presigned,
    parse_presigned_v2,
    verify_presigned,
    verify_presigned_v2,
)

__all__ = [
    "S3_PAYLOAD_CLAIMS",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "Credential",
    "InvalidSignature",
    "Request",
    "Verifier",
    "check_payload",
    "payload_claim",
    "read_credential",
    "signature",
    "verify",
]


class Verifier(Protocol):
    """Checks a request's signature; ``payload_hash`` as ``header.verify`` takes it."""

    def __call__(
        self, request: Request, credential: Credential, secret: str, payload_hash: str | None = None
    ) -> None: ...


def read_credential(request: Request, now: float) -> tuple[Credential, Verifier]:
    """The credential of a request signed in its Authorization header, in a SigV4 presigned URL or in a
    SigV2 presigned S3 URL, with its time checked, and the function that verifies its signature. Reads
    the headers and the query only."""
    # Both presigned forms require the Authorization header to be absent: skip parsing the query.
    if "authorization" not in request.headers and is_presigned_v2(request):
        return parse_presigned_v2(request, now), verify_presigned_v2
    if "authorization" not in request.headers and is_presigned(request):
        credential = parse_presigned(request)
        if credential.service != "s3":
            # A presigned URL leaves the body unsigned: acceptable for S3 objects, not for API calls.
            raise IncompleteSignature(
                f"query-string signatures are accepted for service s3 only, got {credential.service!r}"
            )
        check_presigned_time(request, credential, now)
        return credential, verify_presigned
    credential = parse_authorization(request)
    check_time(credential, now)
    return credential, verify


def joined_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names in lower case with their values; a repeated header's values joined by commas, as
    SigV4's canonical request (and RFC 9110) joins them. Whatever reads a header afterwards then sees
    what the signature covered: a second X-Amz-Target or Authorization line cannot be verified as one
    value and acted on as another."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]},{text}" if key in headers else text
    return headers


def check_covered_headers(request: Request, credential: Credential, json_api: bool) -> None:
    """What the signature must cover beyond ``host``: a JSON API call's X-Amz-Target (which operation
    runs), and on S3 every ``x-amz-*`` header sent, as S3 requires ("There were headers present in the
    request which were not signed"). SigV2 presigned URLs sign every ``x-amz-*`` header themselves."""
    signed = credential.signed_headers
    if json_api and "x-amz-target" in request.headers and "x-amz-target" not in signed:
        raise IncompleteSignature("SignedHeaders must include x-amz-target, which names the operation")
    if credential.service != "s3" or not signed:
        return
    presigned = "authorization" not in request.headers
    unsigned = sorted(
        name
        for name in request.headers
        if name.startswith("x-amz-")
        and name not in signed
        and not (presigned and name == "x-amz-content-sha256")
    )
    if unsigned:
        raise S3Error(
            "AccessDenied",
            403,
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned)[:1024],
        )
