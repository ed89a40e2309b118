"""What a signature must cover of the body (issue 13, defect 5). ``UNSIGNED-PAYLOAD`` and the
``STREAMING-*`` values of x-amz-content-sha256 leave the body out of the signature; AWS accepts them for
S3 only. On CloudTrail, cloudtrail-data and Organizations a captured request replayed with another body
must be refused, whatever its x-amz-content-sha256 says."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.protocol import check_error, cloudtrail_headers, ingest, post, signed_headers
from tests.support.server import Credentials, Server, management_record

UNSIGNED = ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"]


@pytest.mark.parametrize("claim", UNSIGNED)
def test_a_cloudtrail_call_signed_without_its_body_cannot_be_replayed(
    server: Server, creds: Credentials, claim: str
) -> None:
    signed = json.dumps({"Name": "replayed-trail", "S3BucketName": "no-such-bucket"}).encode()
    headers = signed_headers(
        server, creds, signed, {**cloudtrail_headers("CreateTrail"), "X-Amz-Content-Sha256": claim}
    )
    replay = json.dumps({"Name": "attacker-trail", "S3BucketName": "attacker-bucket"}).encode()
    response = post(server, replay, headers)
    check_error(response, 403, "InvalidSignatureException", claim, "s3")
    # Not even the body that was signed gets in without its hash.
    check_error(post(server, signed, headers), 403, "InvalidSignatureException", claim)


@pytest.mark.parametrize("claim", UNSIGNED)
def test_an_ingest_call_signed_without_its_body_cannot_be_replayed(
    server: Server, creds: Credentials, claim: str
) -> None:
    body = json.dumps({"Records": [management_record(creds.account_id)]}).encode()
    headers = signed_headers(
        server,
        creds,
        body,
        {"Content-Type": "application/json", "X-Amz-Content-Sha256": claim},
        service="cloudtrail-data",
        path="/IngestRecords",
    )
    forged = json.dumps({"Records": [management_record(creds.account_id, user="mallory")]}).encode()
    response = post(server, forged, headers, "/IngestRecords")
    check_error(response, 403, "InvalidSignatureException", claim, rest=True)


def test_a_hash_that_is_not_the_bodys_is_refused(server: Server, creds: Credentials) -> None:
    signed = b'{"trailNameList": []}'
    claim = hashlib.sha256(signed).hexdigest()
    headers = signed_headers(
        server, creds, signed, {**cloudtrail_headers("DescribeTrails"), "X-Amz-Content-Sha256": claim}
    )
    assert post(server, signed, headers).status_code == 200
    response = post(server, b'{"trailNameList": ["x"]}', headers)
    check_error(response, 403, "InvalidSignatureException", "x-amz-content-sha256")


def test_the_real_hash_is_still_accepted_on_the_data_plane(server: Server, creds: Credentials) -> None:
    body = json.dumps({"Records": [management_record(creds.account_id)]}).encode()
    assert ingest(server, creds, body).status_code == 200
