"""Organization trails: each member's events delivered into its own folder with its own digest chain,
who sees and changes what, members joining and leaving, the trail turned off and on, and the trail's data
selectors deciding what members store."""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
import uuid
from contextlib import closing
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from tests.support.organizations import (
    OrgTrail,
    expect,
    ingest,
    logging_organization_trail,
    organization_trail,
)
from tests.support.selection_cases import s3_object
from tests.support.server import Server, iso, management_record, wait_for


@pytest.fixture(scope="module")
def org_trail(server: Server) -> OrgTrail:
    """The module's organization trail, logging, with everyone's events sent and delivered."""
    return logging_organization_trail(server)


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
