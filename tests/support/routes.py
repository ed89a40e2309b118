"""Every signed route of the port, aimed at one account's holdings: a CloudTrail read and a change, an
Organizations call, PutAuditEvents, IngestRecords, and the S3 subset's write, read and listing. Each
route's request carries a fresh marker, so a test can tell whether a forged copy left any trace."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from tests.support.audit_events import entry, event_data
from tests.support.holdings import Holdings
from tests.support.protocol import TARGET
from tests.support.server import Credentials, management_record
from tests.support.signing import sign
from tests.support.wire import JSON_11, Shape

ORGANIZATIONS = "AWSOrganizationsV20161128."
ROUTES = (
    "cloudtrail-read",
    "cloudtrail-write",
    "organizations",
    "put-audit-events",
    "ingest-records",
    "s3-put-object",
    "s3-get-object",
    "s3-list-objects",
)


@dataclass(frozen=True)
class Route:
    name: str
    service: str
    method: str
    path: str
    body: bytes
    shape: Shape
    marker: str
    headers: dict[str, str] = field(default_factory=dict)
    # The read calls whose audit records are committed in groups (every 0.5 s): a trace search waits.
    audited_read: bool = False
    # What the genuine request, signed by the holder, is answered.
    ok: tuple[int, str | None] = (200, None)

    def sign(
        self,
        endpoint: str,
        creds: Credentials,
        *,
        service: str | None = None,
        region: str = "us-east-1",
        when: datetime | None = None,
        secret: str | None = None,
        key_id: str | None = None,
    ) -> dict[str, str]:
        """The request's headers signed by ``creds`` (or as the options forge it)."""
        return sign(
            endpoint + self.path,
            self.method,
            self.headers,
            self.body,
            creds,
            service=service or self.service,
            region=region,
            when=when,
            secret=secret,
            key_id=key_id,
        )

    @property
    def event_name(self) -> str | None:
        """The call's eventName in the account's history, for the audited routes."""
        target = self.headers.get("X-Amz-Target", "")
        return target.rsplit(".", 1)[1] if target else None


def json_route(
    name: str,
    service: str,
    target: str,
    params: dict[str, object],
    marker: str,
    audited_read: bool = False,
    ok: tuple[int, str | None] = (200, None),
) -> Route:
    headers = {"X-Amz-Target": target, "Content-Type": JSON_11}
    body = json.dumps(params).encode()
    return Route(name, service, "POST", "/", body, "json", marker, headers, audited_read, ok)


def route(name: str, holdings: Holdings) -> Route:
    """Route ``name`` aimed at ``holdings``, with a fresh marker."""
    marker = f"forged-{uuid.uuid4().hex[:12]}"
    account = holdings.account
    if name == "cloudtrail-read":
        params: dict[str, object] = {"trailNameList": [marker]}
        return json_route(name, "cloudtrail", TARGET + "DescribeTrails", params, marker, audited_read=True)
    if name == "cloudtrail-write":
        params = {"ResourceId": holdings.trail_arn, "TagsList": [{"Key": marker, "Value": "x"}]}
        return json_route(name, "cloudtrail", TARGET + "AddTags", params, marker)
    if name == "organizations":
        params = {"AccountName": marker, "Email": f"{marker}@example.com"}
        refused = (400, "AWSOrganizationsNotInUseException")
        return json_route(name, "organizations", ORGANIZATIONS + "CreateAccount", params, marker, ok=refused)
    json_headers = {"Content-Type": "application/json"}
    if name == "put-audit-events":
        body = json.dumps({"auditEvents": [entry("1", event_data(account, UID=marker))]}).encode()
        path = "/PutAuditEvents?channelArn=" + quote(holdings.channel_arn, safe="")
        return Route(name, "cloudtrail-data", "POST", path, body, "rest", marker, json_headers)
    if name == "ingest-records":
        record = {**management_record(account), "eventID": marker}
        body = json.dumps({"Records": [record]}).encode()
        return Route(name, "cloudtrail-data", "POST", "/IngestRecords", body, "rest", marker, json_headers)
    if name == "s3-put-object":
        return Route(name, "s3", "PUT", f"/{holdings.bucket}/{marker}", marker.encode(), "xml", marker)
    if name == "s3-get-object":
        return Route(name, "s3", "GET", f"/{holdings.bucket}/{holdings.key}", b"", "xml", marker)
    assert name == "s3-list-objects", name
    return Route(name, "s3", "GET", f"/{holdings.bucket}?list-type=2", b"", "xml", marker)
