"""Requests as the server receives them, signed by botocore's own signers, for the unit tests of
``server/sigv4``; and the example credentials of AWS's SigV4 documentation."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

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
    """Read the credential and verify the signature, as the edge does with the whole body in hand."""
    credential, verifier = sigv4.read_credential(request, time.time() if now is None else now)
    verifier(request, credential, secret)
    return credential


def s3_put(
    url: str, body: bytes, region: str = "us-west-2", headers: dict[str, str] | None = None
) -> sigv4.Request:
    request = AWSRequest("PUT", url, data=body, headers={"Content-Type": "text/plain", **(headers or {})})
    S3SigV4Auth(CREDENTIALS, "s3", region).add_auth(request)
    return received(request)
