"""Bad input at the protocol edge gets CloudTrail's error shape, never a 500 or a traceback.

Requests are built by hand with httpx and signed with botocore's own SigV4 signer, so each test controls
exactly one thing that is wrong. JSON 1.1 errors carry ``{"__type", "message"}``; the rest-json data plane
(``/IngestRecords``, ``/PutAuditEvents``) names the code in ``x-amzn-ErrorType``. The last test reads the
server's log for tracebacks left by everything before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import botocore.session
import httpx
import pytest
from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from opentrail.server import operations
from tests.support.server import Credentials, Server, make_server

TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
JSON_11 = "application/x-amz-json-1.1"
MB = 1024 * 1024
NATIVE_LIMIT = 10 * MB  # Settings.max_body_bytes, the server's default


class SignedAt(SigV4Auth):
    """botocore's signer with the request time chosen by the test (botocore always signs "now")."""

    def __init__(self, credentials: BotoCredentials, service: str, region: str, when: datetime) -> None:
        super().__init__(credentials, service, region)
        self.when = when

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self.when.strftime(SIGV4_TIMESTAMP)
        super()._modify_request_before_signing(request)


def signed_headers(
    server: Server,
    creds: Credentials,
    body: bytes,
    headers: dict[str, str],
    *,
    service: str = "cloudtrail",
    path: str = "/",
    secret: str | None = None,
    when: datetime | None = None,
    region: str = "us-east-1",
) -> dict[str, str]:
    """The headers botocore would send for this request, Authorization included."""
    request = AWSRequest(method="POST", url=server.endpoint + path, data=body, headers=headers)
    signer = SignedAt(
        BotoCredentials(creds.access_key_id, secret or creds.secret),
        service,
        region,
        when or datetime.now(UTC),
    )
    signer.add_auth(request)
    return dict(request.headers.items())


def cloudtrail_headers(operation: str, content_type: str | None = JSON_11) -> dict[str, str]:
    headers = {"X-Amz-Target": TARGET + operation}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return headers


def post(server: Server, body: Any, headers: dict[str, str], path: str = "/") -> httpx.Response:
    with httpx.Client(timeout=60) as http:
        return http.post(server.endpoint + path, content=body, headers=headers)


def signed_post(
    server: Server, creds: Credentials, body: bytes, headers: dict[str, str], **sign: Any
) -> httpx.Response:
    path = sign.get("path", "/")
    return post(server, body, signed_headers(server, creds, body, headers, **sign), path)


def check_error(response: httpx.Response, status: int, code: str, *mentions: str, rest: bool = False) -> str:
    """Assert CloudTrail's error shape; return the message. ``mentions`` must all appear in it."""
    text = response.text
    assert "Traceback" not in text
    assert "<html" not in text.lower()
    assert response.status_code == status, text
    assert response.headers.get("x-amzn-RequestId"), dict(response.headers)
    body = response.json()
    if rest:
        assert response.headers.get("x-amzn-ErrorType") == code, dict(response.headers)
        assert response.headers["content-type"].startswith("application/json")
    else:
        assert set(body) == {"__type", "message"}, body
        assert body["__type"] == code, body
        assert response.headers["content-type"].startswith(JSON_11)
    message = body["message"]
    assert isinstance(message, str)
    for mention in mentions:
        assert mention in message, f"{mention!r} not in {message!r}"
    return message


@pytest.fixture(scope="module")
def creds(server: Server) -> Credentials:
    """A non-bootstrap account of the module's own: errors must not depend on being the first account."""
    return server.new_account("protocol")


@pytest.fixture(scope="module")
def log_start(server: Server) -> int:
    """Where the server log stood before this module's requests."""
    path = server.data_dir / "server.log"
    return path.stat().st_size if path.exists() else 0


@pytest.fixture(autouse=True)
def _mark_log(log_start: int) -> None:
    """Take the log position before the first test of the module runs."""


def served_operation() -> str:
    """An operation this server answers, for checks that run before any operation does."""
    if not operations.OPERATIONS:
        pytest.skip("operations.OPERATIONS is empty: no CloudTrail operation is registered yet")
    for preferred in ("DescribeTrails", "ListTrails", "LookupEvents", "ListChannels"):
        if preferred in operations.OPERATIONS:
            return preferred
    return sorted(operations.OPERATIONS)[0]


def unserved_operation() -> str:
    """An operation of CloudTrail's model with no required input that this server does not answer."""
    model = botocore.session.get_session().get_service_model("cloudtrail")
    for name in sorted(model.operation_names):
        shape = model.operation_model(name).input_shape
        if name not in operations.OPERATIONS and (shape is None or not shape.required_members):
            return name
    pytest.skip("the server answers every CloudTrail operation")


# -- routing --------------------------------------------------------------------------------------------


def test_unknown_operation(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers("NoSuchOperation"))
    check_error(response, 400, "UnknownOperationException", "X-Amz-Target", "NoSuchOperation")


def test_operation_of_the_model_that_is_not_served(server: Server, creds: Credentials) -> None:
    operation = unserved_operation()
    response = signed_post(server, creds, b"{}", cloudtrail_headers(operation))
    check_error(response, 400, "UnknownOperationException", operation)


def test_target_of_another_service(server: Server, creds: Credentials) -> None:
    headers = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": JSON_11}
    response = signed_post(server, creds, b"{}", headers)
    check_error(response, 400, "UnknownOperationException", "AmazonSQS.ListQueues")


def test_missing_target(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", {"Content-Type": JSON_11})
    check_error(response, 400, "UnknownOperationException", "X-Amz-Target")


@pytest.mark.parametrize(("service", "path"), [("sqs", "/"), ("cloudtrail-data", "/"), ("monitoring", "/x")])
def test_service_not_served(server: Server, creds: Credentials, service: str, path: str) -> None:
    response = signed_post(
        server, creds, b"{}", cloudtrail_headers("DescribeTrails"), service=service, path=path
    )
    check_error(response, 400, "UnknownOperationException", repr(service), path)


# -- bodies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b'{"trailNameList": [', ["not valid JSON"]),
        (b"{'single': 'quotes'}", ["not valid JSON"]),
        (b"[1, 2, 3]", ["must be a JSON object", "list"]),
        (b'"a string"', ["must be a JSON object", "str"]),
        (b"42", ["must be a JSON object", "int"]),
        (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["nested too deeply"]),
    ],
    ids=["truncated", "single-quotes", "array", "string", "number", "deeply-nested"],
)
def test_body_that_is_not_a_json_object(
    server: Server, creds: Credentials, body: bytes, mentions: list[str]
) -> None:
    response = signed_post(server, creds, body, cloudtrail_headers(served_operation()))
    check_error(response, 400, "SerializationException", *mentions)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_wrong_content_type(server: Server, creds: Credentials, content_type: str) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers(served_operation(), content_type))
    check_error(response, 400, "SerializationException", "Content-Type", JSON_11, content_type.split(";")[0])


def test_missing_content_type(server: Server, creds: Credentials) -> None:
    response = signed_post(server, creds, b"{}", cloudtrail_headers(served_operation(), None))
    check_error(response, 400, "SerializationException", "Content-Type", JSON_11)


def test_json_body_over_one_megabyte(server: Server, creds: Credentials) -> None:
    body = json.dumps({"TrailName": "x" * MB}).encode()
    response = signed_post(server, creds, body, cloudtrail_headers(served_operation()))
    check_error(response, 400, "RequestEntityTooLargeException", str(len(body)), str(MB))


def test_native_body_over_the_limit_with_declared_length(server: Server) -> None:
    body = b" " * (NATIVE_LIMIT + 1)
    response = post(server, body, {"Content-Type": "application/json"}, "/IngestRecords")
    check_error(
        response, 400, "RequestEntityTooLargeException", str(NATIVE_LIMIT + 1), str(NATIVE_LIMIT), rest=True
    )


def test_native_body_over_the_limit_chunked(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        piece = b" " * 65536
        for _ in range(NATIVE_LIMIT // len(piece) + 2):
            yield piece

    response = post(server, chunks(), {"Content-Type": "application/json"}, "/IngestRecords")
    assert response.request.headers.get("transfer-encoding") == "chunked"
    check_error(response, 400, "RequestEntityTooLargeException", str(NATIVE_LIMIT), rest=True)


# -- authentication -------------------------------------------------------------------------------------


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


# -- the native ingest endpoint -------------------------------------------------------------------------


def ingest(server: Server, creds: Credentials, body: bytes, query: str = "") -> httpx.Response:
    path = "/IngestRecords" + query
    headers = {"Content-Type": "application/json"}
    return signed_post(server, creds, body, headers, service="cloudtrail-data", path=path)


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b'{"Records": [', ["not valid JSON"]),
        (b"[]", ['{"Records": [record, ...]}', "object"]),
        (b'{"records": []}', ['{"Records": [record, ...]}', "Records"]),
        (b'{"Records": {"eventID": "x"}}', ['{"Records": [record, ...]}', "array"]),
        (b'{"Records": "none"}', ['{"Records": [record, ...]}']),
        (b"", ["JSON"]),
        (b'{"Records": [{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", ["nested too deeply"]),
    ],
    ids=["truncated", "array", "lowercase-key", "records-object", "records-string", "empty", "deeply-nested"],
)
def test_native_body_that_is_not_a_batch(
    server: Server, creds: Credentials, body: bytes, mentions: list[str]
) -> None:
    check_error(ingest(server, creds, body), 400, "SerializationException", *mentions, rest=True)


def test_native_batch_with_too_many_records(server: Server, creds: Credentials) -> None:
    body = b'{"Records": [' + b",".join([b"{}"] * 10_001) + b"]}"
    check_error(ingest(server, creds, body), 400, "ValidationException", "10001", "10000", rest=True)
    assert ingest(server, creds, b'{"Records": []}').json()["accepted"] == 0


def test_native_ingest_into_another_account_needs_a_grant(
    server: Server, creds: Credentials, account: Credentials
) -> None:
    response = ingest(server, creds, b'{"Records": []}', f"?accountId={account.account_id}")
    check_error(response, 403, "AccessDeniedException", account.account_id, "grant", rest=True)


# -- real clients ---------------------------------------------------------------------------------------


def test_boto3_maps_error_codes_to_client_errors(server: Server, creds: Credentials) -> None:
    wrong = Credentials(creds.account_id, creds.access_key_id, "wrong" + creds.secret[5:])
    unknown = Credentials(creds.account_id, "AKIANOSUCHKEY0000001", creds.secret)
    cases = [
        (server.client("cloudtrail", wrong), "InvalidSignatureException", 403),
        (server.client("cloudtrail", unknown), "UnrecognizedClientException", 403),
    ]
    for client, code, status in cases:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client.describe_trails()
        error = caught.value.response
        assert error["Error"]["Code"] == code
        assert error["ResponseMetadata"]["HTTPStatusCode"] == status
        assert error["ResponseMetadata"]["RequestId"]

    # Modelled names become the client's own exception classes, on both protocols.
    client = server.client("cloudtrail", creds)
    with pytest.raises(client.exceptions.InvalidMaxResultsException):
        client.lookup_events(MaxResults=51)
    data = server.client("cloudtrail-data", creds)
    missing = f"arn:aws:cloudtrail:us-east-1:{creds.account_id}:channel/00000000-0000-0000-0000-000000000000"
    with pytest.raises(data.exceptions.ChannelNotFound):
        data.put_audit_events(channelArn=missing, auditEvents=[{"id": "a", "eventData": "{}"}])

    operation = unserved_operation()
    method = getattr(client, botocore.xform_name(operation))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        method()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert operation in caught.value.response["Error"]["Message"]


def test_aws_cli_reports_the_error_code_and_exits_255(server: Server, creds: Credentials) -> None:
    wrong = Credentials(creds.account_id, creds.access_key_id, "wrong" + creds.secret[5:])
    result = server.aws("cloudtrail", "describe-trails", creds=wrong)
    assert result.returncode == 255, result
    assert "An error occurred (InvalidSignatureException)" in result.stderr
    assert "Traceback" not in result.stderr

    operation = unserved_operation()
    result = server.aws("cloudtrail", botocore.xform_name(operation, "-"), creds=creds)
    assert result.returncode == 255, result
    assert re.search(
        rf"An error occurred \(UnknownOperationException\) when calling the {operation} ", result.stderr
    )


# -- known bugs (xfail strict: each turns red once fixed, so its marker gets removed) ----------------------
# Requests that make the server log a traceback go to a server of their own, so the log check below
# keeps guarding everything else.


@pytest.fixture(scope="module")
def quarantine() -> Iterator[Server]:
    yield from make_server()


@pytest.mark.parametrize("method", ["PATCH", "OPTIONS"])
def test_any_method_gets_the_error_shape(server: Server, method: str) -> None:
    with httpx.Client(timeout=30) as http:
        response = http.request(method, server.endpoint + "/")
    assert response.status_code < 500
    assert response.headers.get("x-amzn-RequestId")
    assert "__type" in response.json()


@pytest.mark.parametrize("body", [b'{"trailNameList": ["\xff\xfe"]}', b'{"\xff": 1}'], ids=["value", "key"])
def test_json_body_with_invalid_utf8(quarantine: Server, body: bytes) -> None:
    creds = quarantine.root
    assert creds is not None
    response = signed_post(quarantine, creds, body, cloudtrail_headers("DescribeTrails"))
    check_error(response, 400, "SerializationException", "UTF-8")


def _record(**fields: Any) -> bytes:
    record = {
        "eventVersion": "1.08",
        "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "eventID": "00000000-0000-0000-0000-000000000000",
    }
    record.update(fields)
    return json.dumps(record).encode()


def test_record_with_invalid_utf8_in_a_modelled_field_fails_alone(quarantine: Server) -> None:
    creds = quarantine.root
    assert creds is not None
    good = _record(eventID="good-1")
    bad = _record(eventID="bad-1", eventName="PLACEHOLDER").replace(b"PLACEHOLDER", b"Get\xffObject")
    response = ingest(quarantine, creds, b'{"Records": [' + good + b"," + bad + b"]}")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1
    assert [(f["index"], f["errorCode"]) for f in result["failed"]] == [(1, "InvalidData")]


def test_a_record_with_invalid_utf8_never_breaks_event_history(quarantine: Server) -> None:
    creds = quarantine.root
    assert creds is not None
    bad = _record(eventID="bad-2", extra="PLACEHOLDER").replace(b"PLACEHOLDER", b"\xff")
    response = ingest(quarantine, creds, b'{"Records": [' + bad + b"]}")
    assert response.status_code == 200, response.text
    lookup = signed_post(quarantine, creds, b"{}", cloudtrail_headers("LookupEvents"))
    assert lookup.status_code == 200, lookup.text


# -- last: nothing above left a traceback in the server log ---------------------------------------------


def test_server_log_has_no_traceback(server: Server, log_start: int) -> None:
    log = (server.data_dir / "server.log").read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert server.proc is not None
    assert server.proc.poll() is None, "the server died"
