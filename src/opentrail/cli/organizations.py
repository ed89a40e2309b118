"""``opentrail organization`` (the Organizations API over HTTP, as the caller) and ``opentrail account
credentials`` (a member's root credentials, read from the store on the server's host).

The API never returns a new account's secret (AWS's never does), so ``organization create-account``
creates the account through the server, then reads its root credentials from the data directory, as
``opentrail account create`` does. On another host than the server it says so and names the command
to run there.

``cli`` registers these; the shared helpers are imported from it when a command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from opentrail.errors import ConfigError

data_dir_option = click.option(
    "--data-dir", envvar="OPENTRAIL_DATA_DIR", default=None, help="Data directory [./opentrail-data]."
)
endpoint_option = click.option(
    "--endpoint-url", default=None, help="Server [$OPENTRAIL_ENDPOINT_URL, else the local one]."
)
region_option = click.option(
    "--region", default=None, help="Signing region [from the AWS configuration, else us-east-1]."
)
credentials_file_option = click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the root credentials to this AWS credentials file (mode 0600).",
)


@contextmanager
def _organizations(
    data_dir: str | None, endpoint_url: str | None, region: str | None
) -> Iterator[Callable[..., Any]]:
    """``call(operation, params)`` against the server, signed with the caller's AWS credentials."""
    import botocore.exceptions
    import botocore.session

    from opentrail.client import remote
    from opentrail.client.endpoint import resolve_endpoint

    try:
        credentials = remote.resolve_credentials(Path(data_dir) if data_dir else None)
        region = region or botocore.session.Session().get_config_variable("region") or "us-east-1"
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot read the AWS configuration: {exc}") from None
    with remote.Client(resolve_endpoint(endpoint_url), credentials, str(region)) as conn:
        yield conn.organizations


def _show(pairs: dict[str, Any]) -> None:
    from opentrail.cli.main import out

    for name, value in pairs.items():
        out.print(f"{name} = {value}", markup=False, highlight=False)


def _print_credentials(data_dir: str | None, account_id: str, credentials_file: Path | None) -> None:
    from opentrail.cli.main import _settings, _store
    from opentrail.organizations import accounts

    settings = _settings(data_dir)
    with _store(settings) as store:
        key = accounts.root_key_of(store, account_id)
    if key is None:
        raise ConfigError(
            f"no root credentials of account {account_id} in {settings.database}; run "
            f"`opentrail account credentials {account_id}` with the server's data directory"
        )
    if credentials_file is not None:
        accounts.write_credentials(credentials_file, key)
    _show(
        {
            "account_id": account_id,
            "aws_access_key_id": key.access_key_id,
            "aws_secret_access_key": key.secret,
        }
    )


@click.command("credentials")
@data_dir_option
@credentials_file_option
@click.argument("account_id")
def account_credentials(data_dir: str | None, credentials_file: Path | None, account_id: str) -> None:
    """Print the root credentials of ACCOUNT_ID (an organization's new member, say), from the store."""
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise ConfigError(f"ACCOUNT_ID must be 12 digits, got {account_id!r}")
    _print_credentials(data_dir, account_id, credentials_file)


@click.group()
def organization() -> None:
    """The caller's organization (AWS Organizations' role), through the server's API."""


def _organization_lines(org: dict[str, Any]) -> None:
    _show(
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
    _print_credentials(data_dir, str(status["AccountId"]), credentials_file)


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
