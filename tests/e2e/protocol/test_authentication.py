"""SigV4 authentication: a missing or malformed Authorization header or request date, a tampered
request, a wrong secret, an unknown key, a request date out of range, a scope naming no region, on the
JSON 1.1 operations and on the data plane."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SIGV4_TIMESTAMP

from tests.support.protocol import TARGET, check_error, cloudtrail_headers, post, signed_headers, signed_post
from tests.support.server import Credentials, Server


def test_no_authorization_header(server: Server) -> None:
    response = post(server, b"{}", cloudtrail_headers("DescribeTrails"))
    check_error(response, 403, "MissingAuthenticationTokenException", "Authorization")


def test_no_authorization_header_on_the_data_plane(server: Server) -> None:
    response = post(server, b'{"Records": []}', {"Content-Type": "application/json"}, "/IngestRecords")
    check_error(response, 403, "MissingAuthenticationTokenException", "Authorization", rest=True)


@pytest.mark.parametrize(
    ("authorization", "mentions"),
    [
        ("Bearer abc", ["AWS4-HMAC-SHA256"]),
        ("AWS4-HMAC-SHA256 Credential=AKIAX/{date}/us-east-1/cloudtrail/aws4_request", ["Signature"]),
        (
            "AWS4-HMAC-SHA256 Credential=AKIAX/{date}/us-east-1/cloudtrail/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=not-hex",
            ["Signature=<64 hex>"],
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIAX/{date}/cloudtrail/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
            ["Credential", "<yyyymmdd>", "AKIAX/{date}/cloudtrail/aws4_request"],
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIAX/{date}/us-east-1/cloudtrail/aws4_request, "
            "SignedHeaders=x-amz-date, Signature=" + "0" * 64,
            ["SignedHeaders", "host"],
        ),
    ],
    ids=["not-sigv4", "no-signature", "signature-not-hex", "short-credential", "host-not-signed"],
)
def test_malformed_authorization(server: Server, authorization: str, mentions: list[str]) -> None:
    now = datetime.now(UTC)
    date = now.strftime("%Y%m%d")
    headers = {
        **cloudtrail_headers("DescribeTrails"),
        "X-Amz-Date": now.strftime(SIGV4_TIMESTAMP),
        "Authorization": authorization.format(date=date),
    }
    response = post(server, b"{}", headers)
    check_error(response, 403, "IncompleteSignatureException", *(m.format(date=date) for m in mentions))


@pytest.mark.parametrize("amz_date", [None, "yesterday", "20240101T000000"])
def test_missing_or_malformed_request_date(server: Server, creds: Credentials, amz_date: str | None) -> None:
    headers = signed_headers(server, creds, b"{}", cloudtrail_headers("DescribeTrails"))
    headers.pop("X-Amz-Date")
    if amz_date is not None:
        headers["X-Amz-Date"] = amz_date
    response = post(server, b"{}", headers)
    check_error(response, 403, "IncompleteSignatureException", "X-Amz-Date", "YYYYMMDDTHHMMSSZ")


@pytest.mark.parametrize("amz_date", ["20241399T250000Z", "20240230T120000Z", "00000000T000000Z"])
def test_impossible_request_date(server: Server, creds: Credentials, amz_date: str) -> None:
    headers = signed_headers(server, creds, b"{}", cloudtrail_headers("DescribeTrails"))
    signed_date = headers["X-Amz-Date"][:8]
    headers["X-Amz-Date"] = amz_date
    headers["Authorization"] = headers["Authorization"].replace(f"/{signed_date}/", f"/{amz_date[:8]}/")
    response = post(server, b"{}", headers)
    check_error(response, 403, "IncompleteSignatureException", "X-Amz-Date", amz_date)


def test_tampered_body(server: Server, creds: Credentials) -> None:
    signed = b'{"trailNameList": ["mine"]}'
    headers = signed_headers(server, creds, signed, cloudtrail_headers("DescribeTrails"))
    response = post(server, signed.replace(b"mine", b"your"), headers)
    check_error(response, 403, "InvalidSignatureException", "signature we calculated does not match")


def test_tampered_signed_header(server: Server, creds: Credentials) -> None:
    headers = signed_headers(server, creds, b"{}", cloudtrail_headers("DescribeTrails"))
    headers["X-Amz-Target"] = TARGET + "DeleteTrail"
    response = post(server, b"{}", headers)
    check_error(response, 403, "InvalidSignatureException", "signature we calculated does not match")


def test_signed_header_missing_from_the_request(server: Server, creds: Credentials) -> None:
    headers = signed_headers(server, creds, b"{}", cloudtrail_headers("DescribeTrails"))
    headers.pop("X-Amz-Target")
    response = post(server, b"{}", headers)
    check_error(response, 403, "InvalidSignatureException", "x-amz-target")


def test_wrong_secret(server: Server, creds: Credentials) -> None:
    response = signed_post(
        server, creds, b"{}", cloudtrail_headers("DescribeTrails"), secret="wrong" + creds.secret[5:]
    )
    check_error(response, 403, "InvalidSignatureException", "Secret Access Key")


def test_unknown_access_key(server: Server) -> None:
    stranger = Credentials("000000000000", "AKIANOSUCHKEY0000000", "x" * 40)
    response = signed_post(server, stranger, b"{}", cloudtrail_headers("DescribeTrails"))
    check_error(response, 403, "UnrecognizedClientException", "AKIANOSUCHKEY0000000")


@pytest.mark.parametrize("minutes", [-20, 20])
def test_request_date_outside_fifteen_minutes(server: Server, creds: Credentials, minutes: int) -> None:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    response = signed_post(server, creds, b"{}", cloudtrail_headers("DescribeTrails"), when=when)
    check_error(response, 403, "InvalidSignatureException", when.strftime(SIGV4_TIMESTAMP), "15 minutes")


def test_credential_date_that_is_not_the_request_date(server: Server, creds: Credentials) -> None:
    headers = signed_headers(server, creds, b"{}", cloudtrail_headers("DescribeTrails"))
    date = headers["X-Amz-Date"][:8]
    other = (datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC) - timedelta(days=1)).strftime("%Y%m%d")
    headers["Authorization"] = headers["Authorization"].replace(f"/{date}/", f"/{other}/")
    response = post(server, b"{}", headers)
    check_error(response, 403, "InvalidSignatureException", other, headers["X-Amz-Date"])


@pytest.mark.parametrize("region", ["US_EAST_1", "us-east-1/x", "-west", "eu west"])
def test_credential_scoped_to_no_valid_region(server: Server, creds: Credentials, region: str) -> None:
    """A correctly signed request whose scope names no region: refused before any work (its region
    would be every audit record's awsRegion), in CloudTrail's shape rather than as a 500."""
    for operation, path in (("DescribeTrails", "/"), ("LookupEvents", "/")):
        response = signed_post(server, creds, b"{}", cloudtrail_headers(operation), region=region, path=path)
        if "/" in region or " " in region:  # splits the scope or the header: malformed, not wrong
            check_error(response, 403, "IncompleteSignatureException", "Credential")
        else:
            check_error(response, 403, "InvalidSignatureException", "valid region", region)


def test_data_plane_rejects_a_wrong_signature_in_its_own_shape(server: Server, creds: Credentials) -> None:
    body = b'{"Records": []}'
    headers = signed_headers(
        server,
        creds,
        body,
        {"Content-Type": "application/json"},
        service="cloudtrail-data",
        path="/IngestRecords",
    )
    response = post(server, body + b" ", headers, "/IngestRecords")
    check_error(response, 403, "InvalidSignatureException", "signature", rest=True)
