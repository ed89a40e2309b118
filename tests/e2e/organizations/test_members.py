"""Member accounts: credentials of their own from the ``opentrail`` command, and no say over the
organization."""

from __future__ import annotations

from tests.support.organizations import Org, expect, parse_credentials
from tests.support.server import Server


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
