"""Organizations end to end: an organization and its member accounts made through the real server, an
organization trail with the events each account sent and the log files delivered for them, and the
check of an Organizations error."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError

from opentrail.client.remote import Client
from tests.support.server import Credentials, Server, iso, management_record, wait_for


def expect(code: str, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``call`` must fail with ``code`` and status 400; returns the error (and a modelled Reason)."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error: dict[str, Any] = dict(caught.value.response["Error"])
    if "Reason" in caught.value.response:
        error["Reason"] = caught.value.response["Reason"]
    assert error["Code"] == code, error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400, caught.value.response
    return error


def parse_credentials(text: str) -> Credentials:
    values = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)
    return Credentials(values["account_id"], values["aws_access_key_id"], values["aws_secret_access_key"])


@dataclass
class Org:
    """A management account with its organization, and helpers to add members."""

    server: Server
    management: Credentials
    id: str = ""
    members: list[Credentials] = field(default_factory=list)

    @classmethod
    def create(cls, server: Server) -> Org:
        org = cls(server, server.new_account("management"))
        out = server.cli_as(org.management, "organization", "create").stdout
        found = re.search(r"organization_id = (o-[a-z0-9]{10})", out)
        assert found, out
        org.id = found.group(1)
        return org

    def client(self, service: str, creds: Credentials | None = None, region: str = "us-east-1") -> Any:
        return self.server.client(service, creds or self.management, region)

    def add_member(self, name: str | None = None) -> Credentials:
        name = name or f"member-{uuid.uuid4().hex[:6]}"
        out = self.server.cli_as(
            self.management,
            "organization",
            "create-account",
            "--name",
            name,
            "--email",
            f"{name}@example.com",
        ).stdout
        member = parse_credentials(out)
        self.members.append(member)
        return member


def ingest(server: Server, creds: Credentials, records: list[dict[str, Any]]) -> None:
    body = json.dumps({"Records": records}).encode()
    with Client(server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None)) as client:
        result = client.ingest_records(body)
    assert result["failed"] == [], result


@dataclass
class OrgTrail:
    org: Org
    outsider: Credentials
    bucket: str
    arn: str
    start: str
    # eventIDs ingested, by account
    events: dict[str, list[str]] = field(default_factory=dict)

    @property
    def server(self) -> Server:
        return self.org.server

    def keys(self, prefix: str) -> list[str]:
        s3 = self.org.client("s3")
        found: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return found

    def read(self, key: str) -> bytes:
        data: bytes = self.org.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data

    def folder(self, account: str, kind: str = "CloudTrail") -> str:
        return f"AWSLogs/{self.org.id}/{account}/{kind}/us-east-1/"

    def delivered(self, account: str) -> dict[str, dict[str, Any]]:
        """Records delivered into ``account``'s folder, by eventID."""
        found: dict[str, dict[str, Any]] = {}
        for key in self.keys(self.folder(account)):
            assert key.rsplit("/", 1)[1].startswith(f"{account}_CloudTrail_us-east-1_"), key
            for rec in json.loads(gzip.decompress(self.read(key)))["Records"]:
                found[rec["eventID"]] = rec
        return found

    def send(self, creds: Credentials, n: int = 2) -> list[str]:
        records = [management_record(creds.account_id) for _ in range(n)]
        ingest(self.server, creds, records)
        ids = [r["eventID"] for r in records]
        self.events.setdefault(creds.account_id, []).extend(ids)
        return ids

    def wait_delivered(self, creds: Credentials, ids: list[str]) -> dict[str, dict[str, Any]]:
        def arrived() -> dict[str, dict[str, Any]]:
            got = self.delivered(creds.account_id)
            return got if set(ids) <= set(got) else {}

        return wait_for(arrived, f"{ids} in {creds.account_id}'s folder")


def organization_trail(server: Server, members: int) -> OrgTrail:
    org = Org.create(server)
    for _ in range(members):
        org.add_member()
    outsider = server.new_account("outsider")
    bucket = f"org-{uuid.uuid4().hex[:12]}"
    org.client("s3").create_bucket(Bucket=bucket)
    start = iso(time.time() - 60)
    cloudtrail = org.client("cloudtrail")
    arn = cloudtrail.create_trail(
        Name="org-trail", S3BucketName=bucket, IsOrganizationTrail=True, EnableLogFileValidation=True
    )["TrailARN"]
    cloudtrail.start_logging(Name="org-trail")
    return OrgTrail(org, outsider, bucket, arn, start)


def logging_organization_trail(server: Server) -> OrgTrail:
    """Three accounts in one organization (the management account and two members) with a logging,
    validated organization trail, and one account outside it; everyone has sent events, and the
    organization's have been delivered."""
    found = organization_trail(server, members=2)
    for creds in [found.org.management, *found.org.members, found.outsider]:
        found.send(creds)
    for creds in [found.org.management, *found.org.members]:
        found.wait_delivered(creds, found.events[creds.account_id])
    return found
