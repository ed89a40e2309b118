"""The query-string forms: SigV4 presigned URLs (``aws s3 presign``) and S3's legacy SigV2 ones (what
CLI v1 still produces). Both leave the body unsigned, so they are accepted for S3 only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import unquote

from opentrail.errors import AccessDeniedException, IncompleteSignature, InvalidSignature, SignatureExpired
from opentrail.server.sigv4.canonical import ALGORITHM, S3_SIGNATURE_MISMATCH, Credential, Request, amz_epoch
from opentrail.server.sigv4.header import MAX_SKEW_SECONDS, UNSIGNED_PAYLOAD, parse_authorization, verify

MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


def _query(query_string: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in query_string.split("&") if item)
    return {unquote(k): unquote(v) for k, _, v in pairs}


def is_presigned(request: Request) -> bool:
    """A URL signed in its query string (``aws s3 presign``) rather than in an Authorization header."""
    return "authorization" not in request.headers and "X-Amz-Credential" in _query(request.query_string)


def parse_presigned(request: Request) -> Credential:
    """Read the credential scope from the query string; the same 403 errors as the header form."""
    query = _query(request.query_string)
    missing = [name for name in (*_PRESIGN_PARAMS, "X-Amz-Expires") if not query.get(name)]
    if missing:
        raise IncompleteSignature(f"a presigned URL needs {', '.join(missing)} in its query string")
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise IncompleteSignature(f"X-Amz-Algorithm must be {ALGORITHM}, got {query['X-Amz-Algorithm']!r}")
    header = (
        f"{ALGORITHM} Credential={query['X-Amz-Credential']}, "
        f"SignedHeaders={query['X-Amz-SignedHeaders']}, Signature={query['X-Amz-Signature']}"
    )
    # The query form carries the same fields as the header form; parse them with the one parser.
    as_header = Request(
        request.method,
        request.raw_path,
        request.query_string,
        {**request.headers, "authorization": header, "x-amz-date": query["X-Amz-Date"]},
        b"",
    )
    return parse_authorization(as_header)


def check_presigned_time(request: Request, credential: Credential, now: float) -> None:
    """Valid from signing (less the allowed skew) until X-Amz-Expires seconds later."""
    expires = _query(request.query_string)["X-Amz-Expires"]
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_PRESIGN_SECONDS:
        raise IncompleteSignature(
            f"X-Amz-Expires must be 1 to {MAX_PRESIGN_SECONDS} seconds, got {expires!r}"
        )
    signed_at = amz_epoch(credential.amz_date)
    if now > signed_at + int(expires):
        raise AccessDeniedException("Request has expired")
    if signed_at - now > MAX_SKEW_SECONDS:
        raise SignatureExpired(f"Request is not yet valid: X-Amz-Date {credential.amz_date} is in the future")


def verify_presigned(
    request: Request, credential: Credential, secret: str, payload_hash: str | None = None
) -> None:
    """The signature covers the query without X-Amz-Signature and an unsigned payload (whatever
    ``payload_hash`` says: the body is never part of it)."""
    query = "&".join(
        item
        for item in request.query_string.split("&")
        if item and unquote(item.partition("=")[0]) != "X-Amz-Signature"
    )
    headers = {**request.headers, "x-amz-content-sha256": UNSIGNED_PAYLOAD}
    unsigned = Request(request.method, request.raw_path, query, headers)
    verify(unsigned, credential, secret, UNSIGNED_PAYLOAD)


# -- S3's legacy query-string signature (SigV2): what `aws s3 presign` (CLI v1) still produces ----------
# Query parameters that are part of the signed resource, as botocore's HmacV1Auth lists them.
_V2_SUBRESOURCES = frozenset(
    [
        *("accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber", "policy"),
        *("requestPayment", "torrent", "versioning", "versionId", "versions", "website", "uploads"),
        *("uploadId", "response-content-type", "response-content-language", "response-expires"),
        *("response-cache-control", "response-content-disposition", "response-content-encoding"),
        *("delete", "lifecycle", "tagging", "restore", "storageClass", "notification", "replication"),
        *("analytics", "metrics", "inventory", "select", "select-type", "object-lock"),
    ]
)


def is_presigned_v2(request: Request) -> bool:
    query = _query(request.query_string)
    return "authorization" not in request.headers and "AWSAccessKeyId" in query and "Signature" in query


def parse_presigned_v2(request: Request, now: float) -> Credential:
    """SigV2 has no scope: it is S3's, valid in any region, until its absolute ``Expires``."""
    query = _query(request.query_string)
    expires = query.get("Expires", "")
    if not expires.isdigit():
        raise IncompleteSignature(f"a SigV2 presigned URL needs Expires as epoch seconds, got {expires!r}")
    if now > int(expires):
        raise AccessDeniedException("Request has expired")
    return Credential(query["AWSAccessKeyId"], "", "us-east-1", "s3", (), query["Signature"], "")


def verify_presigned_v2(
    request: Request, credential: Credential, secret: str, payload_hash: str | None = None
) -> None:
    """SigV2 signs no body; ``payload_hash`` is ignored."""
    query = _query(request.query_string)

    def value(name: str) -> str:
        # botocore moves Content-Type, Content-MD5 and x-amz-* headers into the URL when presigning.
        return request.headers.get(name, query.get(name, ""))

    amz = sorted({k.lower() for k in [*request.headers, *query] if k.lower().startswith("x-amz-")})
    path = request.raw_path.split("?", 1)[0] or "/"
    # botocore signs a bucket-level path-style request as "/bucket/" (its virtual-host form).
    paths = [path, f"{path}/"] if path.count("/") == 1 and path != "/" else [path]
    sub = sorted(
        (k, v)
        for k, _, v in (i.partition("=") for i in request.query_string.split("&") if i)
        if unquote(k) in _V2_SUBRESOURCES
    )
    subresource = "&".join(f"{unquote(k)}={unquote(v)}" if v else unquote(k) for k, v in sub)
    lines = [request.method, value("content-md5"), value("content-type"), query["Expires"]]
    head = "\n".join(lines) + "\n" + "".join(f"{k}:{value(k)}\n" for k in amz)
    matched = False
    for resource in paths:
        text = head + resource + (f"?{subresource}" if subresource else "")
        mac = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
        matched |= hmac.compare_digest(base64.b64encode(mac).decode(), credential.signature)
    if not matched:
        raise InvalidSignature(S3_SIGNATURE_MISMATCH)
