"""Presigned S3 URLs, SigV4 and SigV2 (``aws s3 presign``), tampered with: the signature, the expiry,
the key it names, the object or the method it was made for, its age, another account's URL for the
victim's object, headers added to it; and query signatures used where only S3 accepts them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.support.audit import traces
from tests.support.holdings import Holdings
from tests.support.protocol import TARGET
from tests.support.server import Server
from tests.support.signing import presign, presign_v2
from tests.support.wire import Answer, Wire, json_error, xml_error

ROUTE = "s3-presigned"


def path_of(server: Server, url: str) -> str:
    return url.removeprefix(server.endpoint)


def fetch(wire: Wire, server: Server, url: str, method: str = "GET", **extra: str) -> Answer:
    return wire.send(ROUTE, method, path_of(server, url), extra or None)


def object_url(server: Server, holdings: Holdings, key: str | None = None) -> str:
    return f"{server.endpoint}/{holdings.bucket}/{quote(key or holdings.key)}"


def edit(url: str, name: str, change: str) -> str:
    """``url`` with query parameter ``name`` set to ``change``."""
    return re.sub(rf"([?&]{name}=)[^&]*", lambda m: m.group(1) + change, url)


def still_there(wire: Wire, holdings: Holdings) -> None:
    body = wire.boto("s3", holdings.creds).get_object(Bucket=holdings.bucket, Key=holdings.key)["Body"].read()
    assert body == holdings.content


@pytest.mark.parametrize("version", ["v4", "v2"])
def test_a_genuine_presigned_url_is_served(
    server: Server, wire: Wire, victim: Holdings, version: str
) -> None:
    url = object_url(server, victim)
    signed = presign(url, "GET", victim.creds) if version == "v4" else presign_v2(url, "GET", victim.creds)
    answer = fetch(wire, server, signed)
    assert (answer.status, answer.body) == (200, victim.content)


def v4_forgeries(
    server: Server, victim: Holdings, intruder: Holdings
) -> dict[str, tuple[str, str, int, str]]:
    """name -> (URL, method, status, S3 code)."""
    url = object_url(server, victim)
    genuine = presign(url, "GET", victim.creds, expires=300)
    signature = genuine.rsplit("X-Amz-Signature=", 1)[1]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    mine = presign(url, "GET", intruder.creds)
    return {
        "signature-flipped": (edit(genuine, "X-Amz-Signature", flipped), "GET", 403, "SignatureDoesNotMatch"),
        "expiry-extended": (edit(genuine, "X-Amz-Expires", "604800"), "GET", 403, "SignatureDoesNotMatch"),
        "expired": (
            presign(url, "GET", victim.creds, expires=60, when=datetime.now(UTC) - timedelta(minutes=20)),
            "GET",
            403,
            "AccessDenied",
        ),
        "expiry-over-seven-days": (
            presign(url, "GET", victim.creds, expires=7 * 24 * 3600 + 1),
            "GET",
            400,
            "AuthorizationHeaderMalformed",
        ),
        "signed-an-hour-ahead": (
            presign(url, "GET", victim.creds, when=datetime.now(UTC) + timedelta(hours=1)),
            "GET",
            403,
            "RequestTimeTooSkewed",
        ),
        "another-key-id": (
            genuine.replace(quote(victim.creds.access_key_id), quote(intruder.creds.access_key_id)),
            "GET",
            403,
            "SignatureDoesNotMatch",
        ),
        "unknown-key-id": (
            genuine.replace(quote(victim.creds.access_key_id), "AKIANOSUCHKEY0000000"),
            "GET",
            403,
            "InvalidAccessKeyId",
        ),
        "another-object": (
            genuine.replace(quote(victim.key), "secret/other.txt"),
            "GET",
            403,
            "SignatureDoesNotMatch",
        ),
        "get-used-to-delete": (genuine, "DELETE", 403, "SignatureDoesNotMatch"),
        "get-used-to-put": (genuine, "PUT", 403, "SignatureDoesNotMatch"),
        "intruders-own-url": (mine, "GET", 403, "AccessDenied"),
        "intruders-own-url-to-delete": (
            presign(url, "DELETE", intruder.creds),
            "DELETE",
            403,
            "AccessDenied",
        ),
    }


FORGERIES = [
    "signature-flipped",
    "expiry-extended",
    "expired",
    "expiry-over-seven-days",
    "signed-an-hour-ahead",
    "another-key-id",
    "unknown-key-id",
    "another-object",
    "get-used-to-delete",
    "get-used-to-put",
    "intruders-own-url",
    "intruders-own-url-to-delete",
]


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_tampered_v4_presigned_url_is_refused(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings, forgery: str
) -> None:
    url, method, status, code = v4_forgeries(server, victim, intruder)[forgery]
    xml_error(fetch(wire, server, url, method), status, code)
    still_there(wire, victim)


def v2_forgeries(
    server: Server, victim: Holdings, intruder: Holdings
) -> dict[str, tuple[str, str, int, str]]:
    url = object_url(server, victim)
    genuine = presign_v2(url, "GET", victim.creds)
    expires = re.search(r"Expires=(\d+)", genuine)
    assert expires is not None
    return {
        "signature-changed": (
            edit(genuine, "Signature", quote("A" * 27 + "=")),
            "GET",
            403,
            "SignatureDoesNotMatch",
        ),
        "expiry-extended": (
            edit(genuine, "Expires", str(int(expires[1]) + 86400)),
            "GET",
            403,
            "SignatureDoesNotMatch",
        ),
        "expired": (presign_v2(url, "GET", victim.creds, expires=-60), "GET", 403, "AccessDenied"),
        "expiry-not-a-number": (
            edit(genuine, "Expires", "tomorrow"),
            "GET",
            400,
            "AuthorizationHeaderMalformed",
        ),
        "unknown-key-id": (
            edit(genuine, "AWSAccessKeyId", "AKIANOSUCHKEY0000000"),
            "GET",
            403,
            "InvalidAccessKeyId",
        ),
        "another-key-id": (
            edit(genuine, "AWSAccessKeyId", intruder.creds.access_key_id),
            "GET",
            403,
            "SignatureDoesNotMatch",
        ),
        "get-used-to-delete": (genuine, "DELETE", 403, "SignatureDoesNotMatch"),
        "intruders-own-url": (presign_v2(url, "GET", intruder.creds), "GET", 403, "AccessDenied"),
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "signature-changed",
        "expiry-extended",
        "expired",
        "expiry-not-a-number",
        "unknown-key-id",
        "another-key-id",
        "get-used-to-delete",
        "intruders-own-url",
    ],
)
def test_a_tampered_v2_presigned_url_is_refused(
    server: Server, wire: Wire, victim: Holdings, intruder: Holdings, forgery: str
) -> None:
    url, method, status, code = v2_forgeries(server, victim, intruder)[forgery]
    xml_error(fetch(wire, server, url, method), status, code)
    still_there(wire, victim)


def test_a_header_added_to_a_presigned_put_is_refused(server: Server, wire: Wire, victim: Holdings) -> None:
    """Whoever holds a presigned PUT may send any body, but not x-amz-* headers its signer did not sign
    (S3: "There were headers present in the request which were not signed")."""
    key = f"presigned-{datetime.now(UTC).timestamp():.0f}"
    url = presign(object_url(server, victim, key), "PUT", victim.creds)
    answer = wire.send(ROUTE, "PUT", path_of(server, url), {"x-amz-meta-forged": "yes"}, b"body")
    root = xml_error(answer, 403, "AccessDenied")
    assert "not signed" in (root.findtext("Message") or "")
    assert traces(server, key) == []


def test_a_query_signature_for_an_api_call_is_refused(server: Server, wire: Wire, victim: Holdings) -> None:
    """A presigned URL leaves the body unsigned: accepted for S3 objects only, never for CloudTrail."""
    marker = f"forged-{datetime.now(UTC).timestamp():.0f}"
    body = json.dumps({"ResourceId": victim.trail_arn, "TagsList": [{"Key": marker, "Value": "x"}]}).encode()
    headers = {"X-Amz-Target": TARGET + "AddTags", "Content-Type": "application/x-amz-json-1.1"}
    url = presign(server.endpoint + "/", "POST", victim.creds, service="cloudtrail", headers=headers)
    answer = wire.send("cloudtrail-presigned", "POST", path_of(server, url), headers, body)
    message = json_error(answer, 403, "IncompleteSignatureException")
    assert "s3" in message
    assert traces(server, marker) == []


def test_a_v2_query_signature_reaches_no_api(server: Server, wire: Wire, victim: Holdings) -> None:
    """SigV2 exists only for S3: a POST / signed that way is an S3 request (and S3 has no POST /), never
    the CloudTrail call its headers name."""
    marker = f"forged-{datetime.now(UTC).timestamp():.0f}"
    body = json.dumps({"ResourceId": victim.trail_arn, "TagsList": [{"Key": marker, "Value": "x"}]}).encode()
    headers = {"X-Amz-Target": TARGET + "AddTags", "Content-Type": "application/x-amz-json-1.1"}
    url = presign_v2(server.endpoint + "/", "POST", victim.creds, headers=headers)
    answer = wire.send("cloudtrail-presigned", "POST", path_of(server, url), headers, body)
    xml_error(answer, 405, "MethodNotAllowed")
    assert traces(server, marker) == []


def test_a_v2_authorization_header_is_not_a_signature(server: Server, wire: Wire, victim: Holdings) -> None:
    """``Authorization: AWS <key>:<signature>`` (SigV2 in a header) is not accepted anywhere."""
    headers = {
        "Authorization": f"AWS {victim.creds.access_key_id}:c2lnbmF0dXJl",
        "Date": "Mon, 07 Dec 2026 00:00:00 GMT",
    }
    answer = wire.send(ROUTE, "GET", f"/{victim.bucket}/{quote(victim.key)}", headers)
    json_error(answer, 403, "IncompleteSignatureException")
