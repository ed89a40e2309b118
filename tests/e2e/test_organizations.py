"""Organizations (issue 4): the Organizations API, member accounts with credentials of their own,
organization trails and their delivery, ``validate-logs --account-id`` and who sees what.

One server of this module's own, with a 1-second delivery interval and 4-second digests. Every call
goes through the real server with boto3, the AWS CLI v1 or the ``opentrail`` command.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ClientError

from opentrail.client.remote import Client
from opentrail.clock import SystemClock
from opentrail.delivery import worker as delivery
from opentrail.delivery.signing import Signer
from opentrail.errors import RemoteError
from opentrail.ingest.records import index_record
from opentrail.organizations import model as organizations
from opentrail.storage import LocalStorage
from opentrail.store.sqlite.store import SQLiteStore
from opentrail.trails import model as trails
from tests.support.selection_cases import s3_object
from tests.support.server import AWS_CLI, Credentials, Server, iso, make_server, management_record, wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server(env={"OPENTRAIL_DELIVERY_INTERVAL": "1", "OPENTRAIL_DIGEST_INTERVAL": "4"})


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


# -- the Organizations API ----------------------------------------------------------------------------------


def test_create_describe_and_the_account_lifecycle(server: Server) -> None:
    owner = server.new_account("owner")
    orgs = server.client("organizations", owner)
    expect("AWSOrganizationsNotInUseException", orgs.describe_organization)
    created = orgs.create_organization()["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", created["Id"])
    assert created["Arn"] == f"arn:aws:organizations::{owner.account_id}:organization/{created['Id']}"
    assert created["FeatureSet"] == "ALL"
    assert created["MasterAccountId"] == owner.account_id
    assert created["MasterAccountArn"] == (
        f"arn:aws:organizations::{owner.account_id}:account/{created['Id']}/{owner.account_id}"
    )
    assert orgs.describe_organization()["Organization"] == created
    expect("AlreadyInOrganizationException", orgs.create_organization, FeatureSet="ALL")

    status = orgs.create_account(Email="dev@example.com", AccountName="dev")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    assert re.fullmatch(r"car-[a-z0-9]{8,32}", status["Id"])
    assert re.fullmatch(r"\d{12}", status["AccountId"])
    polled = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert polled == status
    account = orgs.describe_account(AccountId=status["AccountId"])["Account"]
    assert (
        account["Arn"] == f"arn:aws:organizations::{owner.account_id}:account/{created['Id']}/{account['Id']}"
    )
    assert (account["Name"], account["Email"], account["JoinedMethod"], account["Status"]) == (
        "dev",
        "dev@example.com",
        "CREATED",
        "ACTIVE",
    )
    duplicate = orgs.create_account(Email="DEV@example.com", AccountName="again")["CreateAccountStatus"]
    assert (duplicate["State"], duplicate["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "AccountId" not in duplicate

    listed = [a["Id"] for a in orgs.list_accounts()["Accounts"]]
    assert sorted(listed) == sorted([owner.account_id, status["AccountId"]])
    expect(
        "MasterCannotLeaveOrganizationException",
        orgs.remove_account_from_organization,
        AccountId=owner.account_id,
    )
    expect("OrganizationNotEmptyException", orgs.delete_organization)
    orgs.remove_account_from_organization(AccountId=status["AccountId"])
    expect("AccountNotFoundException", orgs.remove_account_from_organization, AccountId=status["AccountId"])
    expect("AccountNotFoundException", orgs.describe_account, AccountId=status["AccountId"])
    orgs.delete_organization()
    expect("AWSOrganizationsNotInUseException", orgs.describe_organization)


def test_bad_input_is_invalid_input_never_a_500(server: Server) -> None:
    org = Org.create(server)
    orgs = org.client("organizations")
    error = expect("InvalidInputException", orgs.list_accounts, MaxResults=21)
    assert error.get("Reason") == "MAX_VALUE_EXCEEDED"
    expect("InvalidInputException", orgs.list_accounts, NextToken="not-a-token")
    assert (
        expect("InvalidInputException", orgs.describe_account, AccountId="12345")["Reason"]
        == "INVALID_PATTERN"
    )
    expect("InvalidInputException", orgs.create_account, Email="not-an-email", AccountName="x")
    expect("InvalidInputException", orgs.create_account, Email="a@example.com", AccountName="x" * 51)
    expect("InvalidInputException", orgs.describe_create_account_status, CreateAccountRequestId="car-UPPER")
    expect(
        "CreateAccountStatusNotFoundException",
        orgs.describe_create_account_status,
        CreateAccountRequestId="car-" + "0" * 32,
    )
    outsider = server.client("organizations", server.new_account("outsider"))
    expect("InvalidInputException", outsider.create_organization, FeatureSet="SOME")
    creds = ReadOnlyCredentials(org.management.access_key_id, org.management.secret, None)
    with Client(server.endpoint, creds) as raw:
        for params in ({"AccountId": 12}, {"AccountId": ["x"]}):
            with pytest.raises(Exception, match="SerializationException"):
                raw.organizations("DescribeAccount", params)
        with pytest.raises(Exception, match="UnknownOperationException"):
            raw.organizations("InviteAccountToOrganization", {})


def test_list_accounts_pages(server: Server) -> None:
    org = Org.create(server)
    orgs = org.client("organizations")
    made = {
        orgs.create_account(Email=f"p{n}@example.com", AccountName=f"p{n}")["CreateAccountStatus"][
            "AccountId"
        ]
        for n in range(4)
    }
    seen: list[str] = []
    pages = 0
    for page in orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2}):
        pages += 1
        seen.extend(a["Id"] for a in page["Accounts"])
    assert pages == 3
    assert sorted(seen) == sorted(made | {org.management.account_id})


def test_only_the_management_account_manages(server: Server) -> None:
    org = Org.create(server)
    member = org.add_member()
    orgs = org.client("organizations", member)
    described = orgs.describe_organization()["Organization"]
    assert described["Id"] == org.id
    for call, kwargs in (
        (orgs.list_accounts, {}),
        (orgs.describe_account, {"AccountId": member.account_id}),
        (orgs.create_account, {"Email": "x@example.com", "AccountName": "x"}),
        (orgs.remove_account_from_organization, {"AccountId": member.account_id}),
        (orgs.delete_organization, {}),
    ):
        expect("AccessDeniedException", call, **kwargs)
    expect("AlreadyInOrganizationException", orgs.create_organization)


def test_organizations_calls_are_audited(server: Server) -> None:
    org = Org.create(server)
    # Signed for another region: Organizations is a global service, its calls are recorded in us-east-1.
    orgs = org.client("organizations", region="eu-west-1")
    orgs.describe_organization()
    expect("AccountNotFoundException", orgs.describe_account, AccountId="000000000000")
    cloudtrail = org.client("cloudtrail")

    def events() -> list[dict[str, Any]]:
        found = cloudtrail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": "organizations.amazonaws.com"}
            ]
        )["Events"]
        return (
            found
            if {"CreateOrganization", "DescribeOrganization", "DescribeAccount"}
            <= {e["EventName"] for e in found}
            else []
        )

    found = wait_for(events, "the Organizations calls in event history")
    failed = next(json.loads(e["CloudTrailEvent"]) for e in found if e["EventName"] == "DescribeAccount")
    assert failed["errorCode"] == "AccountNotFoundException"
    assert failed["recipientAccountId"] == org.management.account_id
    assert failed["eventSource"] == "organizations.amazonaws.com"
    assert failed["awsRegion"] == "us-east-1"
    elsewhere = org.client("cloudtrail", region="eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "organizations.amazonaws.com"}]
    )["Events"]
    assert elsewhere == []


def test_a_member_gets_working_credentials_from_the_cli(server: Server) -> None:
    org = Org.create(server)
    member = org.add_member("cli-member")
    again = parse_credentials(server.cli("account", "credentials", member.account_id).stdout)
    assert again == member
    # The member's own credentials work, in its own account.
    arn = server.client("cloudtrail", member).describe_trails()["trailList"]
    assert arn == []
    listed = server.cli_as(org.management, "organization", "list-accounts").stdout
    assert f"{member.account_id}\tcli-member\tcli-member@example.com\tCREATED" in listed
    described = server.cli_as(member, "organization", "describe").stdout
    assert f"organization_id = {org.id}" in described
    server.cli_as(org.management, "organization", "remove-account", member.account_id)
    refused = server.cli_as(member, "organization", "describe", check=False)
    assert refused.returncode != 0
    assert "AWSOrganizationsNotInUseException" in refused.stderr


# -- organization trails ------------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def org_trail(server: Server) -> OrgTrail:
    """Three accounts in one organization (the management account and two members) with a logging,
    validated organization trail, and one account outside it; everyone has sent events."""
    found = organization_trail(server, members=2)
    for creds in [found.org.management, *found.org.members, found.outsider]:
        found.send(creds)
    for creds in [found.org.management, *found.org.members]:
        found.wait_delivered(creds, found.events[creds.account_id])
    return found


def test_each_members_events_land_in_its_own_folder(org_trail: OrgTrail) -> None:
    org = org_trail.org
    everyone = [org.management, *org.members]
    for creds in everyone:
        delivered = org_trail.delivered(creds.account_id)
        assert set(org_trail.events[creds.account_id]) <= set(delivered)
        assert {rec["recipientAccountId"] for rec in delivered.values()} == {creds.account_id}
    # Nothing outside the organization's folder, and nothing of the outsider's anywhere.
    keys = org_trail.keys("")
    assert keys
    assert all(key.startswith(f"AWSLogs/{org.id}/") for key in keys), keys
    outsider_ids = set(org_trail.events[org_trail.outsider.account_id])
    for key in keys:
        if "/CloudTrail/" in key:
            records = json.loads(gzip.decompress(org_trail.read(key)))["Records"]
            assert not outsider_ids & {r["eventID"] for r in records}
    # One digest chain per (member account, region), each naming its account.
    for creds in everyone:
        digests = wait_for(
            lambda c=creds: org_trail.keys(org_trail.folder(c.account_id, "CloudTrail-Digest")), "digests"
        )
        digest = json.loads(gzip.decompress(org_trail.read(digests[0])))
        assert digest["awsAccountId"] == creds.account_id
        assert digest["digestS3Object"] == digests[0]
        assert (
            digests[0]
            .rsplit("/", 1)[1]
            .startswith(f"{creds.account_id}_CloudTrail-Digest_us-east-1_org-trail_")
        )


def test_who_sees_what(org_trail: OrgTrail) -> None:
    org, outsider, arn = org_trail.org, org_trail.outsider, org_trail.arn
    member, other = org.members
    manager_ct = org.client("cloudtrail")
    member_ct = org.client("cloudtrail", member)
    outsider_ct = org.client("cloudtrail", outsider)

    # DescribeTrails / GetTrail / GetTrailStatus
    (own,) = manager_ct.describe_trails()["trailList"]
    assert (own["TrailARN"], own["IsOrganizationTrail"]) == (arn, True)
    (shadow,) = member_ct.describe_trails()["trailList"]
    assert shadow == own
    assert member_ct.describe_trails(includeShadowTrails=False)["trailList"] == []
    assert member_ct.describe_trails(trailNameList=[arn])["trailList"] == [own]
    assert member_ct.get_trail(Name=arn)["Trail"] == own
    expect("TrailNotFoundException", member_ct.get_trail, Name="org-trail")
    assert member_ct.get_trail_status(Name=arn)["IsLogging"] is True
    assert member_ct.get_event_selectors(TrailName=arn)["TrailARN"] == arn
    assert outsider_ct.describe_trails()["trailList"] == []
    assert outsider_ct.describe_trails(trailNameList=[arn])["trailList"] == []
    expect("TrailNotFoundException", outsider_ct.get_trail, Name=arn)
    expect("TrailNotFoundException", outsider_ct.get_trail_status, Name=arn)

    # Members cannot change the organization trail; the outsider cannot even find it.
    changes: list[tuple[str, dict[str, Any]]] = [
        ("update_trail", {"Name": arn, "S3KeyPrefix": "mine"}),
        ("delete_trail", {"Name": arn}),
        ("stop_logging", {"Name": arn}),
        ("start_logging", {"Name": arn}),
        ("put_event_selectors", {"TrailName": arn, "EventSelectors": [{"ReadWriteType": "WriteOnly"}]}),
        (
            "put_insight_selectors",
            {"TrailName": arn, "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]},
        ),
    ]
    for name, kwargs in changes:
        expect("NotOrganizationMasterAccountException", getattr(member_ct, name), **kwargs)
        expect("TrailNotFoundException", getattr(outsider_ct, name), **kwargs)
    tags = [{"Key": "owner", "Value": "member"}]
    expect("NotOrganizationMasterAccountException", member_ct.add_tags, ResourceId=arn, TagsList=tags)
    expect("NotOrganizationMasterAccountException", member_ct.remove_tags, ResourceId=arn, TagsList=tags)
    expect("ResourceNotFoundException", outsider_ct.add_tags, ResourceId=arn, TagsList=tags)
    assert member_ct.list_tags(ResourceIdList=[arn])["ResourceTagList"] == [
        {"ResourceId": arn, "TagsList": []}
    ]
    expect("ResourceNotFoundException", outsider_ct.list_tags, ResourceIdList=[arn])
    assert manager_ct.get_trail_status(Name="org-trail")["IsLogging"] is True  # nothing changed

    # Only the management account makes organization trails.
    bucket = f"m-{uuid.uuid4().hex[:12]}"
    org.client("s3", member).create_bucket(Bucket=bucket)
    expect(
        "NotOrganizationMasterAccountException",
        member_ct.create_trail,
        Name="mine",
        S3BucketName=bucket,
        IsOrganizationTrail=True,
    )
    outsider_bucket = f"o-{uuid.uuid4().hex[:12]}"
    org.client("s3", outsider).create_bucket(Bucket=outsider_bucket)
    expect(
        "OrganizationsNotInUseException",
        outsider_ct.create_trail,
        Name="mine",
        S3BucketName=outsider_bucket,
        IsOrganizationTrail=True,
    )

    # LookupEvents: event history stays each account's own.
    for creds in [org.management, member, other, outsider]:
        client = org.client("cloudtrail", creds)
        mine = set(org_trail.events[creds.account_id])

        def seen(c: Any = client, m: set[str] = mine) -> set[str]:
            found = {e["EventId"] for e in c.lookup_events(MaxResults=50)["Events"]}
            return found if m <= found else set()

        found = wait_for(seen, f"{creds.account_id}'s own events")
        others = {i for acct, ids in org_trail.events.items() if acct != creds.account_id for i in ids}
        assert not found & others

    # Organizations: members see the organization, only the management account its accounts.
    manager_orgs = org.client("organizations")
    listed = {a["Id"] for a in manager_orgs.list_accounts()["Accounts"]}
    assert listed == {org.management.account_id, member.account_id, other.account_id}
    member_orgs = org.client("organizations", member)
    assert member_orgs.describe_organization()["Organization"]["Id"] == org.id
    expect("AccessDeniedException", member_orgs.list_accounts)
    outsider_orgs = org.client("organizations", outsider)
    expect("AWSOrganizationsNotInUseException", outsider_orgs.describe_organization)
    expect("AWSOrganizationsNotInUseException", outsider_orgs.list_accounts)
    expect("AWSOrganizationsNotInUseException", outsider_orgs.describe_account, AccountId=member.account_id)


def test_a_member_added_later_is_covered_and_a_removed_one_no_longer(server: Server) -> None:
    found = organization_trail(server, members=1)
    org = found.org
    (leaving,) = org.members
    found.wait_delivered(leaving, found.send(leaving))
    joining = org.add_member("joining")
    found.wait_delivered(joining, found.send(joining))

    org.client("organizations").remove_account_from_organization(AccountId=leaving.account_id)
    late = found.send(leaving)
    # Delivery keeps going for the others; the removed member's later events are not delivered.
    found.wait_delivered(org.management, found.send(org.management))
    found.wait_delivered(joining, found.send(joining))
    time.sleep(2)
    assert not set(late) & set(found.delivered(leaving.account_id))
    # The removed member no longer sees the trail.
    leaving_ct = org.client("cloudtrail", leaving)
    assert leaving_ct.describe_trails()["trailList"] == []
    expect("TrailNotFoundException", leaving_ct.get_trail, Name=found.arn)


# -- validate-logs --account-id ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stopped(org_trail: OrgTrail) -> OrgTrail:
    """The organization trail after more deliveries over several digest periods, then StopLogging and
    each covered account's final digest."""
    org = org_trail.org
    member = org.members[0]
    for _ in range(2):
        org_trail.send(member)
        time.sleep(1.5)
    org_trail.wait_delivered(member, org_trail.events[member.account_id])
    for creds in [org.management, *org.members]:  # a periodic digest each, so the final one chains
        wait_for(
            lambda c=creds: org_trail.keys(org_trail.folder(c.account_id, "CloudTrail-Digest")), "a digest"
        )
    cloudtrail = org.client("cloudtrail")
    cloudtrail.stop_logging(Name="org-trail")
    stop = cloudtrail.get_trail_status(Name="org-trail")["StopLoggingTime"].timestamp()

    def final(creds: Credentials) -> bool:
        keys = org_trail.keys(org_trail.folder(creds.account_id, "CloudTrail-Digest"))
        if not keys:
            return False
        newest = json.loads(gzip.decompress(org_trail.read(keys[-1])))
        return time.time() > stop + 1.5 and newest["digestEndTime"] >= iso(stop)

    for creds in [org.management, *org.members]:
        wait_for(lambda c=creds: final(c), f"{creds.account_id}'s final digest")
    return org_trail


def aws_validate(found: OrgTrail, *extra: str) -> tuple[int, str, str]:
    result = found.server.aws(
        "cloudtrail",
        "validate-logs",
        "--trail-arn",
        found.arn,
        "--start-time",
        found.start,
        "--verbose",
        *extra,
        creds=found.org.management,
    )
    return result.returncode, result.stdout, result.stderr


def opentrail_validate(found: OrgTrail, *extra: str) -> tuple[int, str, str]:
    result = found.server.cli_as(
        found.org.management,
        "validate-logs",
        "--trail-arn",
        found.arn,
        "--start-time",
        found.start,
        "--verbose",
        *extra,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("who", ["member", "management"])
@pytest.mark.parametrize("validate", [aws_validate, opentrail_validate], ids=["aws", "opentrail"])
def test_validate_logs_checks_a_members_chain(stopped: OrgTrail, validate: Any, who: str) -> None:
    member = stopped.org.members[0] if who == "member" else stopped.org.management
    code, out, err = validate(stopped, "--account-id", member.account_id)
    assert code == 0, out + err
    digests = stopped.keys(stopped.folder(member.account_id, "CloudTrail-Digest"))
    logs = stopped.keys(stopped.folder(member.account_id))
    assert len(digests) >= 2
    for key in digests:
        assert f"Digest file\ts3://{stopped.bucket}/{key}\tvalid" in out
    for key in logs:
        assert f"Log file\ts3://{stopped.bucket}/{key}\tvalid" in out
    assert f"{len(logs)}/{len(logs)} log files valid" in out
    assert "INVALID" not in out + err


@pytest.mark.parametrize("validate", [aws_validate, opentrail_validate], ids=["aws", "opentrail"])
def test_validate_logs_needs_the_account_id_of_an_organization_trail(
    stopped: OrgTrail, validate: Any
) -> None:
    code, _, err = validate(stopped)
    assert code == 255
    assert "Missing required parameter for organization trail: '--account-id'" in err


def test_validate_logs_detects_tampering_in_a_members_log(stopped: OrgTrail) -> None:
    member, other = stopped.org.members
    s3 = stopped.org.client("s3")
    key = stopped.keys(stopped.folder(member.account_id))[0]
    original = s3.get_object(Bucket=stopped.bucket, Key=key)["Body"].read()
    records = json.loads(gzip.decompress(original))
    records["Records"][0]["eventName"] = "Innocent"
    s3.put_object(Bucket=stopped.bucket, Key=key, Body=gzip.compress(json.dumps(records).encode(), mtime=0))
    try:
        for validate in (aws_validate, opentrail_validate):
            code, out, err = validate(stopped, "--account-id", member.account_id)
            assert code == 1, out + err
            assert f"Log file\ts3://{stopped.bucket}/{key}\tINVALID: hash value doesn't match" in err
            # Another member's chain is untouched.
            code, out, err = validate(stopped, "--account-id", other.account_id)
            assert code == 0, out + err
    finally:
        s3.put_object(Bucket=stopped.bucket, Key=key, Body=original)


def test_turning_the_organization_trail_off_and_on_again(server: Server) -> None:
    found = organization_trail(server, members=1)
    org = found.org
    (member,) = org.members
    cloudtrail = org.client("cloudtrail")
    member_ct = org.client("cloudtrail", member)
    found.wait_delivered(member, found.send(member))

    cloudtrail.update_trail(Name="org-trail", IsOrganizationTrail=False)
    assert member_ct.describe_trails()["trailList"] == []
    unseen = found.send(member)
    own = [management_record(org.management.account_id)]
    ingest(server, org.management, own)

    def in_own_folder() -> bool:
        prefix = f"AWSLogs/{org.management.account_id}/CloudTrail/us-east-1/"
        return any(
            own[0]["eventID"]
            in {r["eventID"] for r in json.loads(gzip.decompress(found.read(key)))["Records"]}
            for key in found.keys(prefix)
        )

    wait_for(in_own_folder, "the management account's event under its single-account folder")

    cloudtrail.update_trail(Name="org-trail", IsOrganizationTrail=True)
    assert member_ct.get_trail(Name=found.arn)["Trail"]["IsOrganizationTrail"] is True
    found.wait_delivered(member, found.send(member))
    assert not set(unseen) & set(found.delivered(member.account_id))


def test_members_still_cannot_write_into_each_others_history(org_trail: OrgTrail) -> None:
    member, other = org_trail.org.members
    body = json.dumps({"Records": [management_record(other.account_id)]}).encode()
    creds = ReadOnlyCredentials(member.access_key_id, member.secret, None)
    with Client(org_trail.server.endpoint, creds) as client:
        for target in (other.account_id, org_trail.org.management.account_id):
            with pytest.raises(RemoteError) as caught:
                client.ingest_records(body, target)
            assert (caught.value.status, caught.value.code) == (403, "AccessDeniedException")


def test_validate_logs_with_a_service_specific_endpoint_for_each_client(stopped: OrgTrail) -> None:
    """Hazard 12: validate-logs' Organizations and S3 clients ignore --endpoint-url; each service's own
    AWS_ENDPOINT_URL_<SERVICE> reaches the server without the global AWS_ENDPOINT_URL."""
    member = stopped.org.members[0]
    env = stopped.server.aws_env(stopped.org.management)
    del env["AWS_ENDPOINT_URL"]
    for service in ("CLOUDTRAIL", "S3", "ORGANIZATIONS"):
        env[f"AWS_ENDPOINT_URL_{service}"] = stopped.server.endpoint
    args = ["--trail-arn", stopped.arn, "--start-time", stopped.start, "--account-id", member.account_id]
    result = subprocess.run(
        [AWS_CLI, "cloudtrail", "validate-logs", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest files valid" in result.stdout
    assert "INVALID" not in result.stdout + result.stderr


def test_a_membership_change_cut_short_by_a_crash_is_carried_out_at_start(tmp_path: Path) -> None:
    """CreateAccount stored the member, then the process died before ``delivery.cover`` ran: the
    delivery worker's start covers it (its events from then on), and delivers them to its folder."""
    management, member = "111122223333", "444455556666"
    store = SQLiteStore(str(tmp_path / "db.sqlite"))
    storage = LocalStorage(tmp_path / "buckets")
    storage.create_bucket("org-bucket")
    clock = SystemClock()
    try:
        org = organizations.Organization(
            id="o-abcdefghij",
            management=management,
            feature_set="ALL",
            created=clock.now(),
            members=[
                organizations.Member(
                    id=management, name="m", email="m@example.com", joined_method="INVITED", joined=0
                ),
            ],
        )
        store.insert_doc(organizations.to_doc(org))
        trail = trails.Trail(
            name="org",
            trail_arn=f"arn:aws:cloudtrail:us-east-1:{management}:trail/org",
            home_region="us-east-1",
            s3_bucket_name="org-bucket",
            is_organization_trail=True,
            organization_id=org.id,
            is_logging=True,
        )
        store.insert_doc(trails.to_doc(trail, management))
        delivery.logging_started(store, management, trail)
        org.members.append(
            organizations.Member(
                id=member, name="b", email="b@example.com", joined_method="CREATED", joined=0
            )
        )
        store.update_doc(organizations.KIND, management, org.arn, lambda doc: organizations.to_doc(org))
        assert store.get_doc(delivery.KIND, member, trail.trail_arn) is None  # the crash: never covered

        delivery.cover_all(store)
        sent = management_record(member)
        store.append([index_record(json.dumps(sent).encode(), member)])
        worker = delivery.Deliverer(
            store, storage, Signer.for_data_dir(store, tmp_path, clock), clock, 1.0, 4.0
        )
        worker.run_once(force=True)
        keys = [o.key for o in storage.list_objects("org-bucket").objects]
        (key,) = [k for k in keys if k.startswith(f"AWSLogs/{org.id}/{member}/CloudTrail/us-east-1/")]
        records = json.loads(gzip.decompress(storage.get_object("org-bucket", key)[1]))["Records"]
        assert [r["eventID"] for r in records] == [sent["eventID"]]
    finally:
        store.close()


def _stored_ids(server: Server, account: str) -> set[str]:
    """The eventIDs the server's store holds for ``account``, read from its database (read-only)."""
    path = server.data_dir / "opentrail.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
        rows = conn.execute("SELECT record FROM events WHERE acct = ?", (int(account),)).fetchall()
    return {json.loads(bytes(raw))["eventID"] for (raw,) in rows}


def _s3_data_event(account: str) -> dict[str, Any]:
    record = s3_object(f"arn:aws:s3:::member-bucket-{uuid.uuid4().hex[:8]}/key")
    record.update(
        eventID=str(uuid.uuid4()),
        eventTime=iso(time.time()),
        awsRegion="us-east-1",
        recipientAccountId=account,
    )
    return record


def test_an_organization_trails_data_selectors_decide_what_members_store(server: Server) -> None:
    found = organization_trail(server, members=1)
    member, outsider = found.org.members[0], found.outsider
    # Management events only: a member's data event is selected by no trail, so it is not stored.
    before = _s3_data_event(member.account_id)
    ingest(server, member, [before])
    assert before["eventID"] not in _stored_ids(server, member.account_id)

    # The management account turns on S3 data events for the whole organization.
    found.org.client("cloudtrail").put_event_selectors(
        TrailName="org-trail",
        EventSelectors=[{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}],
    )
    selected = _s3_data_event(member.account_id)
    ingest(server, member, [selected])
    assert selected["eventID"] in _stored_ids(server, member.account_id)
    delivered = found.wait_delivered(member, [selected["eventID"]])
    assert delivered[selected["eventID"]]["eventCategory"] == "Data"
    # The outsider is covered by no trail of the organization: its data event is still not stored.
    outside = _s3_data_event(outsider.account_id)
    ingest(server, outsider, [outside])
    assert outside["eventID"] not in _stored_ids(server, outsider.account_id)
