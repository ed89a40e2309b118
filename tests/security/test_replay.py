"""A captured request, replayed within its 15 minutes as an attacker changes it: another body under an
X-Amz-Content-SHA256 that leaves the body unsigned (issue 13, defect 5), a second Authorization header,
a second value of a signed header (the operation switched by a prepended X-Amz-Target), headers the
signature does not cover, and signed aws-chunked bodies with a broken chunk signature. Each is refused
and changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.audit import traces
from tests.support.holdings import Holdings
from tests.support.protocol import TARGET
from tests.support.routes import ROUTES, route
from tests.support.server import Server
from tests.support.signing import sign, streaming_upload
from tests.support.wire import Wire, json_error, rest_error, xml_error

READ_FLUSH = 0.7
UNSIGNED = ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"]
API_ROUTES = [name for name in ROUTES if not name.startswith("s3-")]


@pytest.mark.parametrize("claim", UNSIGNED)
@pytest.mark.parametrize("name", API_ROUTES)
def test_an_api_call_signed_without_its_body_cannot_be_replayed_with_another(
    server: Server, wire: Wire, victim: Holdings, name: str, claim: str
) -> None:
    """Defect 5: only S3 may leave the body out of the signature; elsewhere the claim itself is refused,
    with the body that was signed as with another."""
    target = route(name, victim)
    headers = target.sign(server.endpoint, victim.creds)
    # Signed again with the claim in X-Amz-Content-SHA256: the signature covers the claim, not the body.
    signed = sign(
        server.endpoint + target.path,
        target.method,
        {**target.headers, "X-Amz-Content-SHA256": claim},
        target.body,
        victim.creds,
        service=target.service,
    )
    assert signed["Authorization"] != headers["Authorization"]
    for body in (target.body.replace(b"forged-", b"altered"), target.body):
        answer = wire.send(name, target.method, target.path, signed, body)
        if target.shape == "rest":
            message = rest_error(answer, 403, "InvalidSignatureException")
        else:
            message = json_error(answer, 403, "InvalidSignatureException")
        assert claim in message, message
    if target.audited_read:
        time.sleep(READ_FLUSH)
    assert traces(server, target.marker) == []
    assert traces(server, target.marker.replace("forged-", "altered")) == []


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("order", ["garbage-first", "garbage-last"])
def test_two_authorization_headers_are_refused(
    server: Server, wire: Wire, victim: Holdings, name: str, order: str
) -> None:
    """An intermediary that reads the first Authorization header and a server that reads the last must
    never disagree about who signed: two are one malformed header (RFC 9110 joins a repeated field with
    commas), whichever comes first."""
    target = route(name, victim)
    headers = target.sign(server.endpoint, victim.creds)
    genuine = headers.pop("Authorization")
    garbage = "AWS4-HMAC-SHA256 garbage"
    pairs = [*headers.items(), ("Authorization", garbage), ("Authorization", genuine)]
    if order == "garbage-last":
        pairs[-2:] = pairs[-1], pairs[-2]
    answer = wire.send(name, target.method, target.path, pairs, target.body)
    if target.shape == "xml":
        xml_error(answer, 400, "AuthorizationHeaderMalformed")
    elif target.shape == "rest":
        rest_error(answer, 403, "IncompleteSignatureException")
    else:
        json_error(answer, 403, "IncompleteSignatureException")
    if target.audited_read:
        time.sleep(READ_FLUSH)
    assert traces(server, target.marker) == []


def status_call(server: Server, victim: Holdings) -> tuple[dict[str, str], bytes]:
    body = f'{{"Name": "{victim.trail}"}}'.encode()
    headers = {"X-Amz-Target": TARGET + "GetTrailStatus", "Content-Type": "application/x-amz-json-1.1"}
    return sign(server.endpoint + "/", "POST", headers, body, victim.creds, service="cloudtrail"), body


@pytest.mark.parametrize("switched", ["StopLogging", "DeleteTrail"])
def test_a_captured_read_cannot_be_replayed_as_another_operation(
    server: Server, wire: Wire, victim: Holdings, switched: str
) -> None:
    """A captured GetTrailStatus of the victim's trail, replayed with X-Amz-Target: StopLogging (or
    DeleteTrail) sent before the signed one: the server must not verify one value and run the other."""
    headers, body = status_call(server, victim)
    pairs = [("X-Amz-Target", TARGET + switched), *headers.items()]
    cloudtrail = wire.boto("cloudtrail", victim.creds)
    try:
        answer = wire.send("cloudtrail-replay", "POST", "/", pairs, body)
        json_error(answer, 403, "InvalidSignatureException")
        assert cloudtrail.get_trail_status(Name=victim.trail)["IsLogging"] is True
        assert switched not in {e["EventName"] for e in cloudtrail.lookup_events(MaxResults=50)["Events"]}
    finally:
        # Put back what a successful replay took from the victim, so the other tests still aim at it.
        trails = {t["Name"] for t in cloudtrail.describe_trails()["trailList"]}
        if victim.trail not in trails:
            cloudtrail.create_trail(Name=victim.trail, S3BucketName=victim.bucket)
        cloudtrail.start_logging(Name=victim.trail)


def test_an_api_call_whose_signature_leaves_out_the_operation_is_refused(
    server: Server, wire: Wire, victim: Holdings
) -> None:
    """X-Amz-Target chooses the operation: a signature that does not cover it would let anyone who
    captured the request run another operation with its body (as the replay above), so it is refused
    as a signature without a header it must cover, like one without host."""
    _, body = status_call(server, victim)
    unsigned = sign(
        server.endpoint + "/",
        "POST",
        {"Content-Type": "application/x-amz-json-1.1"},
        body,
        victim.creds,
        service="cloudtrail",
    )
    unsigned["X-Amz-Target"] = TARGET + "StopLogging"
    cloudtrail = wire.boto("cloudtrail", victim.creds)
    try:
        answer = wire.send("cloudtrail-replay", "POST", "/", unsigned, body)
        json_error(answer, 403, "IncompleteSignatureException")
        assert cloudtrail.get_trail_status(Name=victim.trail)["IsLogging"] is True
    finally:
        cloudtrail.start_logging(Name=victim.trail)


def test_an_s3_header_added_after_signing_is_refused(server: Server, wire: Wire, victim: Holdings) -> None:
    """S3 refuses x-amz-* headers the signature does not cover ("There were headers present in the
    request which were not signed"): a replayed PUT must not change the object's metadata or encryption."""
    target = route("s3-put-object", victim)
    headers = target.sign(server.endpoint, victim.creds)
    headers["x-amz-meta-forged"] = "yes"
    answer = wire.send(target.name, target.method, target.path, headers, target.body)
    root = xml_error(answer, 403, "AccessDenied")
    assert "not signed" in (root.findtext("Message") or "")
    assert traces(server, target.marker) == []


def test_a_signed_aws_chunked_upload_is_stored(server: Server, wire: Wire, victim: Holdings) -> None:
    """The control for the next test: an upload signed chunk by chunk (the AWS SDKs for Java and Go)."""
    path = f"/{victim.bucket}/streamed-{time.time_ns()}"
    data = b"signed chunks " * 10_000
    headers, body = streaming_upload(server.endpoint + path, data, victim.creds)
    answer = wire.send("s3-put-object", "PUT", path, headers, body)
    assert answer.status == 200, answer.text
    assert (
        wire.boto("s3", victim.creds).get_object(Bucket=victim.bucket, Key=path.split("/")[2])["Body"].read()
        == data
    )


@pytest.mark.parametrize("bad_chunk", [0, 2, 3])
def test_an_aws_chunked_upload_with_a_broken_chunk_signature_stores_nothing(
    server: Server, wire: Wire, victim: Holdings, bad_chunk: int
) -> None:
    """Defect 5's S3 half: a chunk whose signature does not follow from the previous one (the last, empty
    chunk included) was not sent by the signer; the upload is refused and nothing stored."""
    key = f"streamed-{time.time_ns()}"
    path = f"/{victim.bucket}/{key}"
    headers, body = streaming_upload(
        server.endpoint + path, b"x" * 150_000, victim.creds, chunk=65536, bad_chunk=bad_chunk
    )
    answer = wire.send("s3-put-object", "PUT", path, headers, body)
    xml_error(answer, 403, "SignatureDoesNotMatch")
    assert traces(server, key) == []


def test_a_signature_just_inside_the_fifteen_minutes_is_accepted_once_per_body(
    server: Server, wire: Wire, victim: Holdings
) -> None:
    """The boundary the replays above live within: 14 minutes old is still accepted, with the body it
    signed and no other."""
    target = route("cloudtrail-write", victim)
    headers = target.sign(
        server.endpoint, victim.creds, when=datetime.now(UTC) - timedelta(minutes=14, seconds=30)
    )
    json_error(
        wire.send(target.name, "POST", "/", headers, target.body.replace(b"forged-", b"altered")),
        403,
        "InvalidSignatureException",
    )
    assert wire.send(target.name, "POST", "/", headers, target.body).status == 200
