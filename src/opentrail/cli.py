"""The ``opentrail`` command. Errors are caught once, in ``main``, and printed with a remedy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from . import __version__, accounts
from .clock import SystemClock
from .errors import ConfigError, ConflictError, OpenTrailError
from .settings import Settings
from .storage import BucketExists, InvalidBucketName, open_storage
from .store import Store, open_store

err_console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _settings(data_dir: str | None = None, **overrides: Any) -> Settings:
    return Settings.from_env(data_dir=data_dir, **overrides)


@contextmanager
def _store(settings: Settings) -> Iterator[Store]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database)
    try:
        yield store
    finally:
        store.close()


def _bootstrap_account(store: Store, settings: Settings) -> str:
    account, created = accounts.bootstrap(
        store,
        SystemClock(),
        settings.account_id,
        settings.root_access_key_id,
        settings.root_secret_access_key,
    )
    if created is not None and not settings.root_access_key_id:
        accounts.write_credentials(settings.credentials_file, created)
    return account.account_id


data_dir_option = click.option(
    "--data-dir", envvar="OPENTRAIL_DATA_DIR", default=None, help="Data directory [./opentrail-data]."
)


@click.group()
@click.version_option(__version__, prog_name="opentrail")
def cli() -> None:
    """OpenTrail: a self-hosted audit trail service, wire-compatible with AWS CloudTrail."""


@cli.command()
@data_dir_option
@click.option("--host", default=None, help="Listen address [127.0.0.1].")
@click.option("--port", type=int, default=None, help="Listen port [8790].")
@click.option("--log-level", default=None, help="uvicorn log level [info].")
def serve(data_dir: str | None, host: str | None, port: int | None, log_level: str | None) -> None:
    """Start the service (API, ingestion, event history) on the embedded defaults."""
    import uvicorn

    from .api import create_app

    settings = _settings(data_dir, host=host, port=port, log_level=log_level)
    app = create_app(settings)
    services = app.state.services
    account = services.store.get_meta(accounts.BOOTSTRAP_KEY)
    err_console.print(f"OpenTrail {__version__} listening on [bold]{settings.endpoint}[/bold]")
    err_console.print(f"database {settings.database}; buckets {settings.storage}")
    if settings.root_access_key_id:
        err_console.print(f"account {account}; root credentials from OPENTRAIL_ROOT_ACCESS_KEY_ID")
    else:
        creds = settings.credentials_file.resolve()
        err_console.print(f"account {account}; root credentials in {creds}")
        err_console.print(
            f"  export AWS_SHARED_CREDENTIALS_FILE={creds} AWS_ENDPOINT_URL={settings.endpoint} "
            "AWS_DEFAULT_REGION=us-east-1"
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@cli.group()
def bucket() -> None:
    """Buckets in the local bucket store."""


@bucket.command("create")
@data_dir_option
@click.option("--account", "account_id", default=None, help="Owning account [the bootstrap account].")
@click.argument("name")
def bucket_create(data_dir: str | None, account_id: str | None, name: str) -> None:
    """Create bucket NAME so trails can deliver to it."""
    settings = _settings(data_dir)
    with _store(settings) as store:
        owner = account_id or _bootstrap_account(store, settings)
        if store.get_account(owner) is None:
            raise ConfigError(f"account {owner} does not exist")
        storage = open_storage(settings.storage)
        try:
            storage.create_bucket(name)
        except (InvalidBucketName, BucketExists) as exc:
            raise ConfigError(str(exc)) from None
        store.add_bucket(name, owner)
    out.print(f"bucket {name} created for account {owner}")


@cli.group()
def account() -> None:
    """Accounts and their root credentials."""


@account.command("create")
@data_dir_option
@click.option("--name", default="account", help="A label for the account.")
@click.option("--account-id", default=None, help="12-digit id [random].")
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the root credentials to this AWS credentials file (mode 0600).",
)
def account_create(
    data_dir: str | None, name: str, account_id: str | None, credentials_file: Path | None
) -> None:
    """Create a further account with its own root credentials (printed once)."""
    settings = _settings(data_dir)
    if account_id is not None and not (len(account_id) == 12 and account_id.isdigit()):
        raise ConfigError(f"--account-id must be 12 digits, got {account_id!r}")
    with _store(settings) as store:
        _bootstrap_account(store, settings)
        try:
            acct, key = accounts.create_account(store, SystemClock(), name, account_id)
        except ConflictError as exc:
            raise ConfigError(str(exc)) from None
    if credentials_file is not None:
        accounts.write_credentials(credentials_file, key)
    out.print(f"account_id = {acct.account_id}")
    out.print(f"aws_access_key_id = {key.access_key_id}")
    out.print(f"aws_secret_access_key = {key.secret}")


@account.command("grant")
@data_dir_option
@click.option("--grantee", required=True, help="Account that may write events.")
@click.option("--target", required=True, help="Account whose event streams it may write.")
def account_grant(data_dir: str | None, grantee: str, target: str) -> None:
    """Let GRANTEE write events into TARGET's streams (native ingest with accountId=TARGET)."""
    settings = _settings(data_dir)
    with _store(settings) as store:
        for acct in (grantee, target):
            if store.get_account(acct) is None:
                raise ConfigError(f"account {acct} does not exist")
        store.add_grant(grantee, target)
    out.print(f"account {grantee} may now write events for account {target}")


@cli.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create or upgrade the database schema."""
    settings = _settings(data_dir)
    with _store(settings):
        pass
    out.print(f"database {settings.database} is up to date")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OpenTrailError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        err_console.print("see `opentrail --help`, or the settings listed in docs/settings.md")
        sys.exit(2)
