"""SigV4 in the Authorization header, attacked on every signed route: no signature, a malformed one, a
wrong secret, an unknown key, a request date out of the 15 minutes, a credential scope that is not the
request's (date, region, service), host left unsigned, a signed header or the body changed after
signing. Each is refused in the error shape of the service the request names (S3's XML once the scope
says s3), and leaves no trace: the forged request's marker is nowhere in what the server keeps. The
genuine request of each route, signed by its holder, is served and, for the audited APIs, recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SIGV4_TIMESTAMP

from tests.support.audit import traces
from tests.support.holdings import Holdings
from tests.support.routes import ROUTES, Route, route
from tests.support.server import Server
from tests.support.wire import Answer, Wire, error, json_error, rest_error, xml_error

READ_FLUSH = 0.7  # reads' audit records are committed every 0.5 s
# How each kind of authentication failure is answered: CloudTrail's (JSON and rest-json) code and
# status, then S3's.
FAILURES = {
    "missing": ("MissingAuthenticationTokenException", 403, "AccessDenied", 403),
    "malformed": ("IncompleteSignatureException", 403, "AuthorizationHeaderMalformed", 400),
    "mismatch": ("InvalidSignatureException", 403, "SignatureDoesNotMatch", 403),
    "unknown-key": ("UnrecognizedClientException", 403, "InvalidAccessKeyId", 403),
    "skewed": ("InvalidSignatureException", 403, "RequestTimeTooSkewed", 403),
    "payload": ("InvalidSignatureException", 403, "XAmzContentSHA256Mismatch", 400),
}


def refused(answer: Answer, target: Route, kind: str, s3_scoped: bool = True) -> None:
    """``answer`` is the ``kind`` of failure, in S3's shape when the request says it is for S3."""
    code, status, s3_code, s3_status = FAILURES[kind]
    if target.shape == "xml" and s3_scoped:
        xml_error(answer, s3_status, s3_code)
    else:
        error(answer, "rest" if target.shape == "rest" else "json", status, code)


def left_no_trace(server: Server, target: Route) -> None:
    if target.audited_read:
        time.sleep(READ_FLUSH)
    assert traces(server, target.marker) == []


def send(
    wire: Wire, target: Route, headers: dict[str, str] | list[tuple[str, str]], body: bytes | None = None
) -> Answer:
    return wire.send(target.name, target.method, target.path, headers, target.body if body is None else body)


@pytest.mark.parametrize("name", ROUTES)
def test_the_genuine_request_is_served_and_recorded(
    server: Server, wire: Wire, victim: Holdings, name: str
) -> None:
    """The control: what the attacks below forge is served when its holder signs it."""
    target = route(name, victim)
    answer = send(
        wire,
        target,
        target.sign(server.endpoint, victim.creds, when=datetime.now(UTC) - timedelta(minutes=14)),
    )
    status, code = target.ok
    if code is None:
        assert answer.status == status, answer.text
    else:
        json_error(answer, status, code)
    if target.event_name is not None:
        request_id = answer.headers["x-amzn-requestid"]
        found = wire.recorded(victim.creds, target.event_name, [request_id])
        assert request_id in found, f"{target.event_name} was served but is not in the history"
    if name in ("cloudtrail-write", "put-audit-events", "ingest-records", "s3-put-object"):
        assert traces(server, target.marker), "the genuine request changed nothing"


Forgery = Callable[[Server, Route, Holdings], dict[str, str]]


def now_date() -> tuple[str, str]:
    now = datetime.now(UTC)
    return now.strftime(SIGV4_TIMESTAMP), now.strftime("%Y%m%d")


def no_authorization(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    headers = target.sign(server.endpoint, victim.creds)
    return {k: v for k, v in headers.items() if k != "Authorization"}


def not_sigv4(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return {**target.sign(server.endpoint, victim.creds), "Authorization": "Bearer " + "x" * 40}


def signature_not_hex(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    headers = target.sign(server.endpoint, victim.creds)
    headers["Authorization"] = headers["Authorization"].rsplit("Signature=", 1)[0] + "Signature=" + "z" * 64
    return headers


def host_not_signed(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    headers = target.sign(server.endpoint, victim.creds)
    authorization = headers["Authorization"]
    names = authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0]
    kept = ";".join(name for name in names.split(";") if name != "host")
    headers["Authorization"] = authorization.replace(f"SignedHeaders={names}", f"SignedHeaders={kept}")
    return headers


MALFORMED: dict[str, tuple[Forgery, str, bool]] = {
    "no-authorization": (no_authorization, "missing", False),
    "not-sigv4": (not_sigv4, "malformed", False),
    "signature-not-hex": (signature_not_hex, "malformed", True),
    "host-not-signed": (host_not_signed, "malformed", True),
}


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("forgery", sorted(MALFORMED))
def test_a_missing_or_malformed_signature_is_refused(
    server: Server, wire: Wire, victim: Holdings, name: str, forgery: str
) -> None:
    target = route(name, victim)
    forge, kind, s3_scoped = MALFORMED[forgery]
    refused(send(wire, target, forge(server, target, victim)), target, kind, s3_scoped)
    left_no_trace(server, target)


def wrong_secret(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return target.sign(server.endpoint, victim.creds, secret="x" * 40)


def unknown_key(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return target.sign(server.endpoint, victim.creds, key_id="AKIANOSUCHKEY0000000", secret="x" * 40)


def stale(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return target.sign(server.endpoint, victim.creds, when=datetime.now(UTC) - timedelta(minutes=16))


def future(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return target.sign(server.endpoint, victim.creds, when=datetime.now(UTC) + timedelta(minutes=16))


def scope_of_another_day(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    headers = target.sign(server.endpoint, victim.creds)
    day = headers["X-Amz-Date"][:8]
    other = (datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC) - timedelta(days=1)).strftime("%Y%m%d")
    headers["Authorization"] = headers["Authorization"].replace(f"/{day}/", f"/{other}/")
    return headers


def scope_of_no_region(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return target.sign(server.endpoint, victim.creds, region="-west")


def scope_of_another_region(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    """Signed for us-east-1, the scope then edited to say eu-west-1."""
    headers = target.sign(server.endpoint, victim.creds)
    headers["Authorization"] = headers["Authorization"].replace("/us-east-1/", "/eu-west-1/")
    return headers


def date_changed(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    when = datetime.now(UTC) - timedelta(minutes=1)
    headers = target.sign(server.endpoint, victim.creds, when=when)
    headers["X-Amz-Date"] = (when + timedelta(seconds=1)).strftime(SIGV4_TIMESTAMP)
    return headers


def host_changed(server: Server, target: Route, victim: Holdings) -> dict[str, str]:
    return {**target.sign(server.endpoint, victim.creds), "Host": "attacker.example:80"}


FORGED: dict[str, tuple[Forgery, str]] = {
    "wrong-secret": (wrong_secret, "mismatch"),
    "unknown-key": (unknown_key, "unknown-key"),
    "16-minutes-old": (stale, "skewed"),
    "16-minutes-ahead": (future, "skewed"),
    "scope-of-another-day": (scope_of_another_day, "mismatch"),
    "scope-of-no-region": (scope_of_no_region, "mismatch"),
    "scope-of-another-region": (scope_of_another_region, "mismatch"),
    "x-amz-date-changed": (date_changed, "mismatch"),
    "host-changed": (host_changed, "mismatch"),
}


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("forgery", sorted(FORGED))
def test_a_forged_or_altered_signature_is_refused(
    server: Server, wire: Wire, victim: Holdings, name: str, forgery: str
) -> None:
    target = route(name, victim)
    forge, kind = FORGED[forgery]
    refused(send(wire, target, forge(server, target, victim)), target, kind)
    left_no_trace(server, target)


@pytest.mark.parametrize("name", ROUTES)
def test_a_body_changed_after_signing_is_refused(
    server: Server, wire: Wire, victim: Holdings, name: str
) -> None:
    """S3 signs the payload's hash in X-Amz-Content-SHA256 (XAmzContentSHA256Mismatch); the others sign
    the body itself."""
    target = route(name, victim)
    headers = target.sign(server.endpoint, victim.creds)
    altered = target.body.replace(b"forged-", b"altered") if target.body else b"x"
    refused(send(wire, target, headers, altered), target, "payload" if target.shape == "xml" else "mismatch")
    left_no_trace(server, target)


# A request signed for another service than the route's is routed by its scope (docs/api.md): to an
# operation the request does not name, or to no operation at all.
MISROUTED = {
    ("cloudtrail-read", "organizations"): ("json", 400, "UnknownOperationException"),
    ("cloudtrail-write", "organizations"): ("json", 400, "UnknownOperationException"),
    ("cloudtrail-write", "s3"): ("xml", 405, "MethodNotAllowed"),
    ("organizations", "cloudtrail"): ("json", 400, "UnknownOperationException"),
    ("put-audit-events", "cloudtrail"): ("json", 400, "UnknownOperationException"),
    ("ingest-records", "cloudtrail"): ("json", 400, "UnknownOperationException"),
    ("ingest-records", "s3"): ("xml", 400, "InvalidBucketName"),
    ("s3-put-object", "cloudtrail-data"): ("json", 400, "UnknownOperationException"),
    ("s3-get-object", "cloudtrail"): ("json", 400, "UnknownOperationException"),
    ("s3-list-objects", "organizations"): ("json", 400, "UnknownOperationException"),
}


@pytest.mark.parametrize(("name", "service"), sorted(MISROUTED))
def test_a_request_signed_for_another_service_does_not_reach_the_route(
    server: Server, wire: Wire, victim: Holdings, name: str, service: str
) -> None:
    target = route(name, victim)
    shape, status, code = MISROUTED[name, service]
    answer = send(wire, target, target.sign(server.endpoint, victim.creds, service=service))
    error(answer, shape, status, code)  # type: ignore[arg-type]
    left_no_trace(server, target)


@pytest.mark.parametrize("name", ROUTES)
def test_a_request_signed_for_a_service_not_served_is_unknown(
    server: Server, wire: Wire, victim: Holdings, name: str
) -> None:
    target = route(name, victim)
    answer = send(wire, target, target.sign(server.endpoint, victim.creds, service="sqs"))
    if target.shape == "rest":
        rest_error(answer, 400, "UnknownOperationException")
    else:
        json_error(answer, 400, "UnknownOperationException")
    left_no_trace(server, target)
