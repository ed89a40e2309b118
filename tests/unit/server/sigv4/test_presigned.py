"""The query-string forms (``server/sigv4/presigned.py``): SigV4 and SigV2 presigned URLs as botocore
makes them verify until they expire, and only for S3."""

from __future__ import annotations

import dataclasses
import time

import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest

from opentrail import errors
from opentrail.server.sigv4 import presigned
from tests.support.sigv4 import CREDENTIALS, ENDPOINT, SECRET, received, verify


def test_a_sigv4_presigned_url_verifies_until_it_expires() -> None:
    request = AWSRequest("GET", f"{ENDPOINT}/my-bucket/some%20key.json.gz")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "eu-central-1", expires=60).add_auth(request)
    url = received(request)
    assert presigned.is_presigned(url)
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
