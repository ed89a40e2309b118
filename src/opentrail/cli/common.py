"""What the ``opentrail`` commands share: their options, their consoles, the settings and store a local
command opens, the signed client a client command talks through, and how a command ends on an error: the
error's line, then what to do about it (for an error the server answered, a remedy chosen by its code, since
the API's own messages are AWS's texts).

An error ends with the same lines and exit codes whichever entry point ran the command: the full CLI
(``cli/main.py``), or the quick ``validate-logs`` paths of ``cli/launch.py``. Those import this module
without the full CLI, so rich, the store and botocore are imported here only by the functions using them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from opentrail.errors import ConfigError, OpenTrailError, RemoteError

if TYPE_CHECKING:
    from rich.console import Console

    from opentrail.client.remote import Client
    from opentrail.settings import Settings
    from opentrail.store import Store

data_dir_option = click.option(
    "--data-dir", envvar="OPENTRAIL_DATA_DIR", default=None, help="Data directory [./opentrail-data]."
)
endpoint_option = click.option(
    "--endpoint-url", default=None, help="Server [$OPENTRAIL_ENDPOINT_URL, else the local one]."
)
region_option = click.option(
    "--region", default=None, help="Signing region [from the AWS configuration, else us-east-1]."
)
account_option = click.option(
    "--account", "account_id", default=None, help="Owning account [the bootstrap account]."
)
credentials_file_option = click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the root credentials to this AWS credentials file (mode 0600).",
)


def out() -> Console:
    """The console a command prints its results on (stdout)."""
    from rich.console import Console

    return Console(soft_wrap=True)


def err_console() -> Console:
    """The console for progress, notices and errors (stderr)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


def show(pairs: dict[str, Any]) -> None:
    """``name = value`` lines, printed as they are (values are never read as rich markup)."""
    console = out()
    for name, value in pairs.items():
        console.print(f"{name} = {value}", markup=False, highlight=False)


def check_account_id(label: str, value: str) -> None:
    if not (len(value) == 12 and value.isascii() and value.isdigit()):
        raise ConfigError(f"{label} must be 12 digits, got {value!r}")


def local_settings(data_dir: str | None = None, **overrides: Any) -> Settings:
    """The settings of a local command: flags, else ``OPENTRAIL_*`` variables, else the defaults."""
    from opentrail.settings import Settings

    return Settings.from_env(data_dir=data_dir, **overrides)


@contextmanager
def local_store(settings: Settings) -> Iterator[Store]:
    """The data directory's store, migrated, closed on the way out."""
    from opentrail.store import open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.database)
    try:
        yield store
    finally:
        store.close()


def bootstrap_account(store: Store, settings: Settings) -> str:
    """The bootstrap account's id, the account and its credentials file created first if need be."""
    from opentrail.clock import SystemClock
    from opentrail.organizations import accounts

    account_id, _ = accounts.bootstrap_deployment(store, SystemClock(), settings)
    return account_id


@contextmanager
def remote_client(data_dir: str | None, endpoint_url: str | None, region: str | None) -> Iterator[Client]:
    """A client of the server, signed with the caller's AWS credentials (the standard chain, else the
    data directory's credentials file) for ``region`` (else the AWS configuration's, else us-east-1)."""
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
        yield conn


DEFAULT_REMEDY = "see `opentrail --help`, or the settings listed in docs/settings.md"

# What to do about an error the server answered, by its code. The API answers AWS's own texts (scripts
# match on them, issue 13), so the remedies OpenTrail adds are here, where a person reads them.
REMEDIES = {
    "S3BucketDoesNotExistException": (
        "create the bucket with `opentrail bucket create [--account ID] NAME`, or name a bucket that exists"
    ),
    "InsufficientS3BucketPolicyException": (
        "the bucket belongs to another account: name one of this account's buckets "
        "(`opentrail bucket create --account ID NAME`)"
    ),
    "InsufficientSnsTopicPolicyException": (
        "create the topic in this account and region with `opentrail topic create NAME --url URL`, "
        "or name a topic that exists"
    ),
    "InvalidTrailNameException": (
        "a trail name has 3-128 ASCII letters, digits, '.', '_' or '-', starts and ends with a letter or a "
        "digit, has no two of '.', '_', '-' together and is not an IP address"
    ),
    "InvalidEventSelectorsException": (
        "data resource values are arn:aws:s3 (every bucket), arn:aws:s3:::bucket/ or "
        "arn:aws:s3:::bucket/prefix; arn:aws:lambda (every function) or "
        "arn:aws:lambda:region:account:function:name; arn:aws:dynamodb (every table) or "
        "arn:aws:dynamodb:region:account:table/name"
    ),
    "InvalidCloudWatchLogsLogGroupArnException": (
        "a log group ARN has the form arn:aws:logs:region:account:log-group:name:*"
    ),
    "InvalidCloudWatchLogsRoleArnException": (
        "give CloudWatchLogsRoleArn (arn:aws:iam::account:role/name) together with CloudWatchLogsLogGroupArn"
    ),
    "UnrecognizedClientException": (
        "the access key is not one of this server's: see `opentrail account credentials`"
    ),
}


def remedy(exc: BaseException) -> str:
    """The line printed under an error: what to do about it."""
    if isinstance(exc, RemoteError):
        return REMEDIES.get(exc.code, DEFAULT_REMEDY)
    return DEFAULT_REMEDY


def fail(exc: BaseException) -> NoReturn:
    """Report ``exc`` and exit: 1 when aborted, click's own code for usage errors, 2 otherwise."""
    if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
        err_console().print("aborted")
        sys.exit(1)
    if isinstance(exc, click.ClickException):
        exc.show()
        sys.exit(exc.exit_code)
    from rich.markup import escape

    console = err_console()
    # The message names values as given ("[...]" in a name is text, never markup).
    console.print(f"[red]error:[/red] {escape(str(exc))}")
    console.print(escape(remedy(exc)))
    sys.exit(2)


def run_command(command: click.Command, args: list[str] | None = None, prog_name: str | None = None) -> None:
    """Run a click command, its errors (and OpenTrail's) reported by ``fail``."""
    try:
        command.main(args, prog_name=prog_name, standalone_mode=False)
    except (click.exceptions.Abort, click.ClickException, OpenTrailError) as exc:
        fail(exc)
