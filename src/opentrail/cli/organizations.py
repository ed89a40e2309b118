"""``opentrail organization``: the caller's organization, through the server's Organizations API, as
the caller (client commands).

The API never returns a new account's secret (AWS's never does), so ``organization create-account``
creates the account through the server, then reads its root credentials from the data directory, as
``opentrail account credentials`` does. On another host than the server it says so and names the
command to run there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from opentrail.cli.accounts import print_credentials
from opentrail.cli.common import (
    credentials_file_option,
    data_dir_option,
    endpoint_option,
    region_option,
    remote_client,
    show,
)
from opentrail.errors import ConfigError


@contextmanager
def _organizations(
    data_dir: str | None, endpoint_url: str | None, region: str | None
) -> Iterator[Callable[..., Any]]:
    """``call(operation, params)`` against the server, signed with the caller's AWS credentials."""
    with remote_client(data_dir, endpoint_url, region) as conn:
        yield conn.organizations


@click.group()
def organization() -> None:
    """The caller's organization (AWS Organizations' role), through the server's API."""


def _organization_lines(org: dict[str, Any]) -> None:
    show(
        {
            "organization_id": org.get("Id"),
            "arn": org.get("Arn"),
            "feature_set": org.get("FeatureSet"),
            "management_account_id": org.get("MasterAccountId"),
        }
    )


@organization.command("create")
@data_dir_option
@endpoint_option
@region_option
@click.option(
    "--feature-set",
    type=click.Choice(["ALL", "CONSOLIDATED_BILLING"]),
    default="ALL",
    show_default=True,
    help="Organization trails need ALL.",
)
def organization_create(
    data_dir: str | None, endpoint_url: str | None, region: str | None, feature_set: str
) -> None:
    """Create an organization managed by the calling account."""
    with _organizations(data_dir, endpoint_url, region) as call:
        org = call("CreateOrganization", {"FeatureSet": feature_set})["Organization"]
    _organization_lines(org)


@organization.command("describe")
@data_dir_option
@endpoint_option
@region_option
def organization_describe(data_dir: str | None, endpoint_url: str | None, region: str | None) -> None:
    """Show the organization the calling account belongs to."""
    with _organizations(data_dir, endpoint_url, region) as call:
        org = call("DescribeOrganization")["Organization"]
    _organization_lines(org)


@organization.command("create-account")
@data_dir_option
@endpoint_option
@region_option
@credentials_file_option
@click.option("--name", required=True, help="Name of the new member account.")
@click.option("--email", required=True, help="E-mail address of the new member account.")
def organization_create_account(
    data_dir: str | None,
    endpoint_url: str | None,
    region: str | None,
    credentials_file: Path | None,
    name: str,
    email: str,
) -> None:
    """Create a member account with root credentials of its own (printed once, from the store)."""
    with _organizations(data_dir, endpoint_url, region) as call:
        status = call("CreateAccount", {"AccountName": name, "Email": email})["CreateAccountStatus"]
    if status.get("State") != "SUCCEEDED":
        raise ConfigError(
            f"CreateAccount request {status.get('Id')} {status.get('State')}: {status.get('FailureReason')}"
        )
    print_credentials(data_dir, str(status["AccountId"]), credentials_file)


@organization.command("list-accounts")
@data_dir_option
@endpoint_option
@region_option
def organization_list_accounts(data_dir: str | None, endpoint_url: str | None, region: str | None) -> None:
    """List the organization's accounts (id, name, e-mail, how it joined), one a line."""
    found: list[dict[str, Any]] = []
    with _organizations(data_dir, endpoint_url, region) as call:
        token: str | None = None
        while True:
            page = call("ListAccounts", {"NextToken": token} if token else {})
            found.extend(page.get("Accounts") or [])
            token = page.get("NextToken")
            if not token:
                break
    for item in found:
        click.echo(f"{item['Id']}\t{item['Name']}\t{item['Email']}\t{item['JoinedMethod']}")


@organization.command("remove-account")
@data_dir_option
@endpoint_option
@region_option
@click.argument("account_id")
def organization_remove_account(
    data_dir: str | None, endpoint_url: str | None, region: str | None, account_id: str
) -> None:
    """Remove member ACCOUNT_ID; organization trails stop delivering its events."""
    with _organizations(data_dir, endpoint_url, region) as call:
        call("RemoveAccountFromOrganization", {"AccountId": account_id})
    click.echo(f"account {account_id} removed from the organization")


@organization.command("delete")
@data_dir_option
@endpoint_option
@region_option
def organization_delete(data_dir: str | None, endpoint_url: str | None, region: str | None) -> None:
    """Delete the calling account's organization (it must have no members and no organization trail)."""
    with _organizations(data_dir, endpoint_url, region) as call:
        call("DeleteOrganization")
    click.echo("organization deleted")
