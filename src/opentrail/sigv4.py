"""AWS Signature Version 4: verify what boto3 and the AWS CLI sign.

The server knows every secret, so it rebuilds the canonical request from what arrived, signs it with the
stored secret and compares in constant time. Any region is accepted (validate-logs signs S3 requests for
whichever region GetBucketLocation reports).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from .errors import IncompleteSignature, InvalidSignature, MissingAuthenticationToken

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*SignedHeaders=(?P<headers>[^,\s]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)
_SPACES = re.compile(r"\s+")


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
    if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):
        raise IncompleteSignature(f"X-Amz-Date must be YYYYMMDDTHHMMSSZ, got {amz_date!r}")
    try:
        datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise IncompleteSignature(
            f"X-Amz-Date must be a real UTC time in the form YYYYMMDDTHHMMSSZ, got {amz_date!r}"
        ) from None
    if amz_date[:8] != parts[1]:
        raise InvalidSignature(f"Credential date {parts[1]} does not match X-Amz-Date {amz_date}")
    signed = tuple(match["headers"].split(";"))
    if "host" not in signed:
        raise IncompleteSignature("SignedHeaders must include host")
    return Credential(parts[0], parts[1], parts[2], parts[3], signed, match["sig"], amz_date)


def check_time(credential: Credential, now: float) -> None:
    signed_at = datetime.strptime(credential.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    if abs(now - signed_at) > MAX_SKEW_SECONDS:
        server = datetime.fromtimestamp(now, tz=UTC).strftime("%Y%m%dT%H%M%SZ")
        raise InvalidSignature(
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
        lines.append(f"{name}:{_SPACES.sub(' ', value.strip())}\n")
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
        raise InvalidSignature("x-amz-content-sha256 does not match the SHA-256 of the request body")
    expected = signature(request, credential, secret)
    if not hmac.compare_digest(expected, credential.signature):
        raise InvalidSignature(
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
