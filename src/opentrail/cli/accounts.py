"""``opentrail account``: accounts and their root credentials (local commands: they open the data
directory, where the credentials are; the API never returns a secret, as AWS's never does)."""

from __future__ import annotations

from pathlib import Path

import click

from opentrail.cli.common import (
    bootstrap_account,
    check_account_id,
    credentials_file_option,
    data_dir_option,
    local_settings,
    local_store,
    out,
    show,
)
from opentrail.clock import SystemClock
from opentrail.errors import ConfigError, ConflictError
from opentrail.organizations import accounts


@click.group()
def account() -> None:
    """Accounts and their root credentials."""


@account.command("create")
@data_dir_option
@click.option("--name", default="account", help="A label for the account.")
@click.option("--account-id", default=None, help="12-digit id [random].")
@credentials_file_option
def account_create(
    data_dir: str | None, name: str, account_id: str | None, credentials_file: Path | None
) -> None:
    """Create a further account with its own root credentials (printed once)."""
    settings = local_settings(data_dir)
    if account_id is not None:
        check_account_id("--account-id", account_id)
    with local_store(settings) as store:
        bootstrap_account(store, settings)
        try:
            acct, key = accounts.new_account(store, SystemClock(), name, account_id)
        except ConflictError as exc:
            raise ConfigError(str(exc)) from None
    if credentials_file is not None:
        accounts.write_credentials(credentials_file, key)
    console = out()
    console.print(f"account_id = {acct.account_id}")
    console.print(f"aws_access_key_id = {key.access_key_id}")
    console.print(f"aws_secret_access_key = {key.secret}")


@account.command("grant")
@data_dir_option
@click.option("--grantee", required=True, help="Account that may write events.")
@click.option("--target", required=True, help="Account whose event streams it may write.")
def account_grant(data_dir: str | None, grantee: str, target: str) -> None:
    """Let GRANTEE write events into TARGET's streams (native ingest with accountId=TARGET)."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        for acct in (grantee, target):
            if store.get_account(acct) is None:
                raise ConfigError(f"account {acct} does not exist")
        store.add_grant(grantee, target)
    out().print(f"account {grantee} may now write events for account {target}")


@account.command("credentials")
@data_dir_option
@credentials_file_option
@click.argument("account_id")
def account_credentials(data_dir: str | None, credentials_file: Path | None, account_id: str) -> None:
    """Print the root credentials of ACCOUNT_ID (an organization's new member, say), from the store."""
    check_account_id("ACCOUNT_ID", account_id)
    print_credentials(data_dir, account_id, credentials_file)


def print_credentials(data_dir: str | None, account_id: str, credentials_file: Path | None) -> None:
    """Print (and, with ``credentials_file``, write) an account's root credentials, read from the store."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        key = accounts.root_key_of(store, account_id)
    if key is None:
        raise ConfigError(
            f"no root credentials of account {account_id} in {settings.database}; run "
            f"`opentrail account credentials {account_id}` with the server's data directory"
        )
    if credentials_file is not None:
        accounts.write_credentials(credentials_file, key)
    show(
        {
            "account_id": account_id,
            "aws_access_key_id": key.access_key_id,
            "aws_secret_access_key": key.secret,
        }
    )
