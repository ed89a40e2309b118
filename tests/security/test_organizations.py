"""AWS Organizations across account lines: an outsider (in no organization, then with an organization of
its own) reaches into another organization's accounts, create-account requests and listing tokens; a
member calls what only the management account may, and changes the organization trail that covers it.
Each is refused with Organizations' (or CloudTrail's) error and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.audit import fingerprint
from tests.support.organizations import Org
from tests.support.server import Credentials, Server
from tests.support.wire import Wire


@dataclass
class Setting:
    org: Org
    member: Credentials
    request_id: str  # the management account's CreateAccount request
    trail_arn: str
    outsider: Credentials
    other: Org  # an outsider with an organization of its own


@pytest.fixture(scope="module")
def setting(server: Server, wire: Wire) -> Setting:
    org = Org.create(server)
    member = org.add_member()
    client = wire.boto("organizations", org.management)
    request_id = client.create_account(AccountName="second", Email="second@example.com")[
        "CreateAccountStatus"
    ]["Id"]
    bucket = f"org-trail-{org.id}"
    wire.boto("s3", org.management).create_bucket(Bucket=bucket)
    trail = wire.boto("cloudtrail", org.management).create_trail(
        Name="org-trail", S3BucketName=bucket, IsOrganizationTrail=True, IsMultiRegionTrail=True
    )
    wire.boto("cloudtrail", org.management).start_logging(Name="org-trail")
    return Setting(
        org, member, request_id, trail["TrailARN"], server.new_account("outsider"), Org.create(server)
    )


def refused(client: Any, method: str, code: str, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        getattr(client, method)(**params)
    response: Any = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == (code, 400), (
        response
    )
    return str(response["Error"]["Message"])


def test_an_outsider_sees_no_organization(server: Server, wire: Wire, setting: Setting) -> None:
    client = wire.boto("organizations", setting.outsider)
    before = fingerprint(server)
    for method, params in [
        ("describe_organization", {}),
        ("list_accounts", {}),
        ("describe_account", {"AccountId": setting.member.account_id}),
        ("remove_account_from_organization", {"AccountId": setting.member.account_id}),
        ("describe_create_account_status", {"CreateAccountRequestId": setting.request_id}),
        ("delete_organization", {}),
    ]:
        refused(client, method, "AWSOrganizationsNotInUseException", **params)
    assert fingerprint(server) == before


def test_another_organizations_accounts_are_as_if_absent(
    server: Server, wire: Wire, setting: Setting
) -> None:
    client = wire.boto("organizations", setting.other.management)
    before = fingerprint(server)
    for account in (setting.member.account_id, setting.org.management.account_id):
        message = refused(client, "describe_account", "AccountNotFoundException", AccountId=account)
        assert message == "You specified an account that doesn't exist."
        refused(client, "remove_account_from_organization", "AccountNotFoundException", AccountId=account)
    refused(
        client,
        "describe_create_account_status",
        "CreateAccountStatusNotFoundException",
        CreateAccountRequestId=setting.request_id,
    )
    listed = {a["Id"] for a in client.list_accounts()["Accounts"]}
    assert listed == {setting.other.management.account_id}
    assert fingerprint(server) == before


def test_a_member_cannot_act_for_the_management_account(server: Server, wire: Wire, setting: Setting) -> None:
    client = wire.boto("organizations", setting.member)
    before = fingerprint(server)
    refused(client, "create_account", "AccessDeniedException", AccountName="mine", Email="mine@example.com")
    refused(client, "list_accounts", "AccessDeniedException")
    refused(client, "delete_organization", "AccessDeniedException")
    refused(
        client,
        "remove_account_from_organization",
        "AccessDeniedException",
        AccountId=setting.org.management.account_id,
    )
    refused(
        client,
        "describe_create_account_status",
        "AccessDeniedException",
        CreateAccountRequestId=setting.request_id,
    )
    assert fingerprint(server) == before


MEMBER_CHANGES = {
    "update_trail": {"Name": "{trail}", "S3KeyPrefix": "member"},
    "delete_trail": {"Name": "{trail}"},
    "stop_logging": {"Name": "{trail}"},
    "put_event_selectors": {
        "TrailName": "{trail}",
        "EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": False}],
    },
    "add_tags": {"ResourceId": "{trail}", "TagsList": [{"Key": "k", "Value": "v"}]},
}


@pytest.mark.parametrize("method", sorted(MEMBER_CHANGES))
def test_a_member_cannot_change_the_organization_trail(
    server: Server, wire: Wire, setting: Setting, method: str
) -> None:
    """The trail that records the member is the management account's: the member reads it, never
    stops, narrows or deletes it."""
    client = wire.boto("cloudtrail", setting.member)
    params = {k: (setting.trail_arn if v == "{trail}" else v) for k, v in MEMBER_CHANGES[method].items()}
    before = fingerprint(server)
    refused(client, method, "NotOrganizationMasterAccountException", **params)
    assert fingerprint(server) == before
    assert (
        wire.boto("cloudtrail", setting.org.management).get_trail_status(Name="org-trail")["IsLogging"]
        is True
    )


def test_an_outsider_cannot_see_the_organization_trail(wire: Wire, setting: Setting) -> None:
    client = wire.boto("cloudtrail", setting.outsider)
    refused(client, "get_trail", "TrailNotFoundException", Name=setting.trail_arn)
    refused(client, "get_trail_status", "TrailNotFoundException", Name=setting.trail_arn)
    assert setting.trail_arn not in {t["TrailARN"] for t in client.describe_trails()["trailList"]}


def test_another_organizations_list_token_is_refused(wire: Wire, setting: Setting) -> None:
    page = wire.boto("organizations", setting.org.management).list_accounts(MaxResults=1)
    message = refused(
        wire.boto("organizations", setting.other.management),
        "list_accounts",
        "InvalidInputException",
        NextToken=page["NextToken"],
    )
    assert "NextToken" in message


def test_the_members_history_is_its_own(wire: Wire, setting: Setting) -> None:
    """An organization trail delivers every member's events to the management account's bucket, but
    event history stays each account's own."""
    management = wire.boto("cloudtrail", setting.org.management)
    created = management.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}]
    )
    assert created["Events"]
    member = wire.boto("cloudtrail", setting.member)
    for event in created["Events"]:
        found = member.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event["EventId"]}]
        )
        assert found["Events"] == []
