"""The Authorization header form (``server/sigv4/header.py``) against botocore's own signers: what boto3
and the AWS CLI sign verifies -- JSON API calls, S3 requests with a payload hash, in any region -- and a
changed byte, a wrong secret, another scope or an old date does not (reference §1.5). What the payload
hash may claim: UNSIGNED-PAYLOAD and STREAMING-* for S3 only (issue 13, defect 5)."""

from __future__ import annotations

import dataclasses
import hashlib
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from opentrail import errors
from opentrail.server import sigv4
from tests.support.sigv4 import (
    CREDENTIALS,
    ENDPOINT,
    JSON_HEADERS,
    SECRET,
    api_call,
    received,
    s3_put,
    verify,
)


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


def test_s3_requests_sign_their_payload_hash_and_raw_path() -> None:
    request = s3_put(
        f"{ENDPOINT}/my-bucket/AWSLogs/a%20b/c~d.json.gz?partNumber=1&uploadId=x%2Fy", b"object bytes"
    )
    assert verify(request).service == "s3"
    with pytest.raises(errors.PayloadHashMismatch, match="does not match what was computed"):
        verify(dataclasses.replace(request, body=b"other bytes"))


def test_a_streaming_payload_is_not_hashed_here() -> None:
    """aws-chunked bodies are checked by the S3 subset, not by the signature of the headers."""
    request = s3_put(f"{ENDPOINT}/my-bucket/key", b"")
    streaming = {**request.headers, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    with pytest.raises(errors.InvalidSignature):  # the header is signed, so changing it still fails
        verify(dataclasses.replace(request, headers=streaming, body=b"anything"))


def claiming(claim: str, service: str, method: str = "POST", path: str = "/") -> sigv4.Request:
    """A request signed with x-amz-content-sha256 ``claim`` (botocore's plain signer uses the header)."""
    headers = {**JSON_HEADERS, "X-Amz-Content-SHA256": claim}
    request = AWSRequest(method, f"{ENDPOINT}{path}", data=b"{}", headers=headers)
    SigV4Auth(CREDENTIALS, service, "us-east-1").add_auth(request)
    return received(request)


@pytest.mark.parametrize("claim", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-X"])
@pytest.mark.parametrize("service", ["cloudtrail", "cloudtrail-data", "organizations"])
def test_a_claim_that_leaves_the_body_out_is_for_s3_only(service: str, claim: str) -> None:
    """Signed with the header, so the signature matches; the body it would leave out is what matters."""
    signed = claiming(claim, service)
    credential, _ = sigv4.read_credential(signed, time.time())
    with pytest.raises(errors.PayloadHashMismatch, match=f"accepts for service s3 only; service {service}"):
        sigv4.payload_claim(signed, credential)
    with pytest.raises(errors.PayloadHashMismatch):
        verify(signed)


def test_s3_claims() -> None:
    for claim in sigv4.S3_PAYLOAD_CLAIMS:
        request = claiming(claim, "s3", "PUT", "/b/k")
        credential, verifier = sigv4.read_credential(request, time.time())
        assert sigv4.payload_claim(request, credential) == claim
        verifier(request, credential, SECRET, claim)
    request = claiming("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "s3", "PUT", "/b/k")
    credential, _ = sigv4.read_credential(request, time.time())
    with pytest.raises(errors.S3Error, match="must be UNSIGNED-PAYLOAD") as caught:
        sigv4.payload_claim(request, credential)
    assert (caught.value.s3_code, caught.value.s3_status) == ("InvalidArgument", 400)


def test_the_signature_is_checked_against_the_claim_before_the_body() -> None:
    """What the edge does: verify with the claimed hash (no body yet), then check the body's hash."""
    body = b"object bytes"
    request = dataclasses.replace(s3_put(f"{ENDPOINT}/b/k", body), body=b"")
    credential, verifier = sigv4.read_credential(request, time.time())
    claim = sigv4.payload_claim(request, credential)
    assert claim == hashlib.sha256(body).hexdigest()
    verifier(request, credential, SECRET, claim)
    sigv4.check_payload(claim, hashlib.sha256(body).hexdigest())
    with pytest.raises(errors.PayloadHashMismatch):
        sigv4.check_payload(claim, hashlib.sha256(b"other bytes").hexdigest())
    sigv4.check_payload("UNSIGNED-PAYLOAD", hashlib.sha256(b"anything").hexdigest())
    # A JSON call without the header: the signature covers a hash only the body tells.
    call = api_call()
    credential, verifier = sigv4.read_credential(call, time.time())
    assert sigv4.payload_claim(call, credential) is None
    verifier(call, credential, SECRET, hashlib.sha256(call.body).hexdigest())
    with pytest.raises(errors.InvalidSignature):
        verifier(call, credential, SECRET, hashlib.sha256(b"{}").hexdigest())
