"""AWS Signature Version 4: verify what boto3 and the AWS CLI sign.

The server knows every secret, so it rebuilds the canonical request from what arrived, signs it with the
stored secret and compares in constant time. Any region is accepted (validate-logs signs S3 requests for
whichever region GetBucketLocation reports).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import cachetools

from opentrail.errors import (
    AccessDeniedException,
    IncompleteSignature,
    InvalidSignature,
    MissingAuthenticationToken,
    PayloadHashMismatch,
    SignatureExpired,
)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<headers>[^,\s]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")


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


@dataclass(frozen=True, slots=True)
class Request:
    """What verification needs of an HTTP request. Header names are lower case."""

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes


_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # as events checks a record's awsRegion


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
            "Authorization header must be 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., "
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
        _amz_epoch(amz_date)
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


def _amz_epoch(stamp: str) -> float:
    """Epoch seconds of a ``YYYYMMDDTHHMMSSZ`` stamp (digits checked by the caller); ValueError when it
    is not a real time. What ``strptime`` decides, at a tenth of its cost (it runs on every request)."""
    fields = (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13], stamp[13:15])
    year, month, day, hour, minute, second = map(int, fields)
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()


def check_time(credential: Credential, now: float) -> None:
    signed_at = _amz_epoch(credential.amz_date)
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        server = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        raise SignatureExpired(
            f"Signature expired: {credential.amz_date} is more than {MAX_SKEW_SECONDS // 60} minutes "
            f"from the server time {server}"
        )


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


def canonical_request(request: Request, credential: Credential) -> str:
    lines = []
    for name in credential.signed_headers:
        value = request.headers.get(name)
        if value is None:
            raise InvalidSignature(f"signed header {name!r} is not in the request")
        # Trimmed, runs of whitespace collapsed to one space: str.split() splits on what \s matches.
        lines.append(f"{name}:{' '.join(value.split())}\n")
    payload = request.headers.get("x-amz-content-sha256") or hashlib.sha256(request.body).hexdigest()
    return "\n".join(
        [
            request.method,
            canonical_path(request.raw_path, credential.service),
            canonical_query(request.query_string),
            "".join(lines),
            ";".join(credential.signed_headers),
            payload,
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


def signature(request: Request, credential: Credential, secret: str) -> str:
    scope = f"{credential.date}/{credential.region}/{credential.service}/aws4_request"
    digest = hashlib.sha256(canonical_request(request, credential).encode()).hexdigest()
    string_to_sign = f"{ALGORITHM}\n{credential.amz_date}\n{scope}\n{digest}"
    key = signing_key(secret, credential.date, credential.region, credential.service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def verify(request: Request, credential: Credential, secret: str) -> None:
    """Raise ``InvalidSignatureException`` unless the request was signed with ``secret``."""
    payload = request.headers.get("x-amz-content-sha256")
    unsigned = payload is None or payload == "UNSIGNED-PAYLOAD" or payload.startswith("STREAMING-")
    if not unsigned and payload != hashlib.sha256(request.body).hexdigest():
        raise PayloadHashMismatch("x-amz-content-sha256 does not match the SHA-256 of the request body")
    expected = signature(request, credential, secret)
    if not hmac.compare_digest(expected, credential.signature):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )


# -- query-string signatures (presigned URLs) ----------------------------------------------------------
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
    signed_at = datetime.strptime(credential.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if now > signed_at + int(expires):
        raise AccessDeniedException("Request has expired")
    if signed_at - now > MAX_SKEW_SECONDS:
        raise SignatureExpired(f"Request is not yet valid: X-Amz-Date {credential.amz_date} is in the future")


def verify_presigned(request: Request, credential: Credential, secret: str) -> None:
    """The signature covers the query without X-Amz-Signature and an unsigned payload."""
    query = "&".join(
        item
        for item in request.query_string.split("&")
        if item and unquote(item.partition("=")[0]) != "X-Amz-Signature"
    )
    headers = {**request.headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    verify(Request(request.method, request.raw_path, query, headers, b""), credential, secret)


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


def verify_presigned_v2(request: Request, credential: Credential, secret: str) -> None:
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
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method."
        )


Verifier = Callable[[Request, Credential, str], None]


def read_credential(request: Request, now: float) -> tuple[Credential, Verifier]:
    """The credential of a request signed in its Authorization header, in a SigV4 presigned URL or in a
    SigV2 presigned S3 URL, with its time checked, and the function that verifies its signature."""
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
