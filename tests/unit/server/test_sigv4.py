"""SigV4 verification (``server/sigv4.py``) against botocore's own signers: what boto3 and the AWS CLI
sign verifies -- JSON API calls, S3 requests with a payload hash, SigV4 and SigV2 presigned URLs, in any
region -- and a changed byte, a wrong secret, another scope or an old date does not (reference §1.5)."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from opentrail import errors
from opentrail.server import sigv4

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example
CREDENTIALS = Credentials("AKIAIOSFODNN7EXAMPLE", SECRET)
ENDPOINT = "http://127.0.0.1:8790"
JSON_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
}


def received(request: AWSRequest) -> sigv4.Request:
    """The request as the server receives it: the path as sent, the Host header the client adds."""
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {name.lower(): value for name, value in prepared.headers.items()}
    headers.setdefault("host", url.netloc)
    body = prepared.body or b""
    return sigv4.Request(
        prepared.method, url.path, url.query, headers, body.encode() if isinstance(body, str) else body
    )


def api_call(
    body: bytes = b'{"MaxResults": 5}', region: str = "eu-west-1", service: str = "cloudtrail"
) -> sigv4.Request:
    request = AWSRequest("POST", f"{ENDPOINT}/", data=body, headers=dict(JSON_HEADERS))
    SigV4Auth(CREDENTIALS, service, region).add_auth(request)
    return received(request)


def verify(request: sigv4.Request, now: float | None = None, secret: str = SECRET) -> sigv4.Credential:
    credential, verifier = sigv4.read_credential(request, time.time() if now is None else now)
    verifier(request, credential, secret)
    return credential


def test_a_botocore_signed_api_call_verifies_in_any_region() -> None:
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        credential = verify(api_call(region=region))
        assert (credential.access_key_id, credential.region, credential.service) == (
            "AKIAIOSFODNN7EXAMPLE",
            region,
            "cloudtrail",
        )
        assert credential.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-target")


def test_a_changed_byte_fails() -> None:
    request = api_call()
    with pytest.raises(errors.InvalidSignature, match="does not match the signature you provided"):
        verify(dataclasses.replace(request, body=b'{"MaxResults": 6}'))
    target = {**request.headers, "x-amz-target": JSON_HEADERS["X-Amz-Target"].replace("Lookup", "Looku")}
    with pytest.raises(errors.InvalidSignature):
        verify(dataclasses.replace(request, headers=target))
    with pytest.raises(errors.InvalidSignature):
        verify(dataclasses.replace(request, raw_path="/other"))


def test_another_secret_fails() -> None:
    with pytest.raises(errors.InvalidSignature):
        verify(api_call(), secret=SECRET + "x")


def test_a_changed_scope_fails() -> None:
    request = api_call(region="eu-west-1")
    for changed in ("/eu-west-1/", "/cloudtrail/"):
        replacement = "/us-east-1/" if changed == "/eu-west-1/" else "/organizations/"
        authorization = request.headers["authorization"].replace(changed, replacement)
        with pytest.raises(errors.InvalidSignature):
            verify(dataclasses.replace(request, headers={**request.headers, "authorization": authorization}))


def test_an_old_or_future_date_fails_beyond_fifteen_minutes() -> None:
    request = api_call()
    signed = time.time()
    verify(request, signed + 14 * 60)
    for skew in (16 * 60, -16 * 60):
        with pytest.raises(errors.SignatureExpired, match="Signature expired") as caught:
            verify(request, signed + skew)
        assert caught.value.code == "InvalidSignatureException"


def test_a_request_without_a_signature() -> None:
    request = api_call()
    unsigned = {k: v for k, v in request.headers.items() if k != "authorization"}
    with pytest.raises(errors.MissingAuthenticationToken, match="no Authorization header"):
        verify(dataclasses.replace(request, headers=unsigned))


def authorization(scope: str, signed: str = "host", signature: str = "0" * 64) -> str:
    return f"AWS4-HMAC-SHA256 Credential=AKIA/{scope}, SignedHeaders={signed}, Signature={signature}"


SCOPE = "20240101/us-east-1/cloudtrail/aws4_request"


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer token", errors.IncompleteSignature),
        (authorization("20240101/us-east-1/cloudtrail"), errors.IncompleteSignature),
        (authorization(SCOPE, signed="x-amz-date"), errors.IncompleteSignature),
        (authorization(SCOPE, signature="abc"), errors.IncompleteSignature),
        (authorization(SCOPE.replace("20240101", "20240102")), errors.InvalidSignature),
        (authorization(SCOPE.replace("us-east-1", "")), errors.InvalidSignature),
    ],
)
def test_malformed_authorization(header: str, error: type[errors.ApiError]) -> None:
    headers = {"host": "h", "x-amz-date": "20240101T000000Z", "authorization": header}
    with pytest.raises(error):
        sigv4.parse_authorization(sigv4.Request("POST", "/", "", headers, b""))


@pytest.mark.parametrize("stamp", ["2024-01-01T00:00:00Z", "20240231T000000Z", "20240101T250000Z", ""])
def test_x_amz_date_must_be_a_real_time(stamp: str) -> None:
    header = authorization(SCOPE.replace("20240101", stamp[:8]))
    headers = {"host": "h", "x-amz-date": stamp, "authorization": header}
    with pytest.raises(errors.IncompleteSignature, match="X-Amz-Date must be"):
        sigv4.parse_authorization(sigv4.Request("POST", "/", "", headers, b""))


def test_a_signed_header_that_did_not_arrive_fails() -> None:
    request = api_call()
    dropped = {k: v for k, v in request.headers.items() if k != "x-amz-target"}
    with pytest.raises(errors.InvalidSignature, match="signed header 'x-amz-target' is not in the request"):
        verify(dataclasses.replace(request, headers=dropped))


def s3_put(url: str, body: bytes, region: str = "us-west-2") -> sigv4.Request:
    request = AWSRequest("PUT", url, data=body, headers={"Content-Type": "text/plain"})
    S3SigV4Auth(CREDENTIALS, "s3", region).add_auth(request)
    return received(request)


def test_s3_requests_sign_their_payload_hash_and_raw_path() -> None:
    request = s3_put(
        f"{ENDPOINT}/my-bucket/AWSLogs/a%20b/c~d.json.gz?partNumber=1&uploadId=x%2Fy", b"object bytes"
    )
    assert verify(request).service == "s3"
    with pytest.raises(errors.PayloadHashMismatch, match="does not match the SHA-256"):
        verify(dataclasses.replace(request, body=b"other bytes"))


def test_a_streaming_payload_is_not_hashed_here() -> None:
    """aws-chunked bodies are checked by the S3 subset, not by the signature of the headers."""
    request = s3_put(f"{ENDPOINT}/my-bucket/key", b"")
    streaming = {**request.headers, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    with pytest.raises(errors.InvalidSignature):  # the header is signed, so changing it still fails
        verify(dataclasses.replace(request, headers=streaming, body=b"anything"))


def test_a_sigv4_presigned_url_verifies_until_it_expires() -> None:
    request = AWSRequest("GET", f"{ENDPOINT}/my-bucket/some%20key.json.gz")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "eu-central-1", expires=60).add_auth(request)
    url = received(request)
    assert sigv4.is_presigned(url)
    now = time.time()
    assert verify(url, now).region == "eu-central-1"
    with pytest.raises(errors.AccessDeniedException, match="Request has expired"):
        verify(url, now + 120)
    with pytest.raises(errors.InvalidSignature):
        verify(dataclasses.replace(url, raw_path="/my-bucket/other.json.gz"), now)


def test_a_presigned_url_is_for_s3_only() -> None:
    request = AWSRequest("GET", f"{ENDPOINT}/")
    S3SigV4QueryAuth(CREDENTIALS, "cloudtrail", "us-east-1", expires=60).add_auth(request)
    with pytest.raises(errors.IncompleteSignature, match="accepted for service s3 only"):
        verify(received(request))


def test_a_sigv2_presigned_url_verifies_until_it_expires() -> None:
    """What ``aws s3 presign`` (CLI v1) makes."""
    request = AWSRequest("GET", f"{ENDPOINT}/my-bucket/key.json.gz")
    HmacV1QueryAuth(CREDENTIALS, expires=60).add_auth(request)
    url = received(request)
    credential = verify(url)
    assert (credential.service, credential.access_key_id) == ("s3", "AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(errors.AccessDeniedException, match="Request has expired"):
        verify(url, time.time() + 120)
    with pytest.raises(errors.InvalidSignature):
        verify(url, secret=SECRET + "x")


def test_canonical_query_sorts_and_encodes_once() -> None:
    assert sigv4.canonical_query("b=2&a=1&a=0&c") == "a=0&a=1&b=2&c="
    assert sigv4.canonical_query("prefix=a%2Fb c&x=%7E") == "prefix=a%2Fb%20c&x=~"


def test_the_signing_key_of_awss_documented_example() -> None:
    """AWS's SigV4 documentation derives this key for its example secret, date, region and service."""
    key = sigv4.signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_keys_depend_on_every_part_of_the_scope() -> None:
    base = sigv4.signing_key(SECRET, "20240101", "us-east-1", "cloudtrail")
    assert sigv4.signing_key(SECRET, "20240101", "us-east-1", "cloudtrail") == base
    for other in (
        (SECRET + "x", "20240101", "us-east-1", "cloudtrail"),
        (SECRET, "20240102", "us-east-1", "cloudtrail"),
        (SECRET, "20240101", "us-west-2", "cloudtrail"),
        (SECRET, "20240101", "us-east-1", "s3"),
    ):
        assert sigv4.signing_key(*other) != base
