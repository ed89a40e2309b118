"""The ``opentrail`` command. Errors are caught once, in ``main``, and printed with a remedy."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from opentrail import __version__
from opentrail.cli.common import run
from opentrail.cli.organizations import account_credentials, organization
from opentrail.cli.topics import topic
from opentrail.cli.validate_logs import validate_logs
from opentrail.clock import SystemClock
from opentrail.errors import ConfigError, ConflictError, OpenTrailError, RemoteError
from opentrail.organizations import accounts
from opentrail.settings import Settings
from opentrail.storage import BucketExists, InvalidBucketName, open_storage
from opentrail.store import Store, open_store, redacted

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
@click.option(
    "--role",
    type=click.Choice(["all", "api", "worker"]),
    default=None,
    help="api: serve calls only; worker: deliver, notify, enforce retention (HTTP /health only); all [all].",
)
def serve(
    data_dir: str | None, host: str | None, port: int | None, log_level: str | None, role: str | None
) -> None:
    """Start the service (API, ingestion, event history) on the embedded defaults."""
    import uvicorn

    from opentrail.server.app import create_app

    settings = _settings(data_dir, host=host, port=port, log_level=log_level, role=role)
    app = create_app(settings)
    services = app.state.services
    account = services.store.get_meta(accounts.BOOTSTRAP_KEY)
    err_console.print(f"OpenTrail {__version__} listening on [bold]{settings.endpoint}[/bold]")
    err_console.print(f"database {redacted(settings.database)}; buckets {settings.storage}")
    if settings.role != "all":
        err_console.print(f"role {settings.role}")
    if settings.root_access_key_id:
        err_console.print(f"account {account}; root credentials from OPENTRAIL_ROOT_ACCESS_KEY_ID")
    else:
        creds = settings.credentials_file.resolve()
        err_console.print(f"account {account}; root credentials in {creds}")
        err_console.print(
            f"  export AWS_SHARED_CREDENTIALS_FILE={creds} AWS_ENDPOINT_URL={settings.endpoint} "
            "AWS_DEFAULT_REGION=us-east-1"
        )
    # Everything built so far lives as long as the process: out of the collector's sight, a full
    # collection walks only what requests allocate (an in-process gen2 pass took 32 ms before).
    gc.collect()
    gc.freeze()
    # A request allocates thousands of short-lived containers (a 50-event page, a 100-record batch):
    # at the default 700 the collector ran several times a call and promoted what a call still held.
    gc.set_threshold(5000, 20, 20)
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


# -- put-events ----------------------------------------------------------------------------------------
_MAX_LISTED_REJECTIONS = 20


@cli.command("put-events")
@data_dir_option
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--endpoint-url", default=None, help="Server [$OPENTRAIL_ENDPOINT_URL, else the local one].")
@click.option("--region", default=None, help="Signing region [from the AWS configuration, else us-east-1].")
@click.option("--account-id", default=None, help="Write into this account (needs a grant) [the caller's].")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),  # the native endpoint takes at most 10,000 records a call
    default=500,
    show_default=True,
    help="Records per call (calls also stay under 5 MB; a record is never split).",
)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Tries per batch on connection errors, 5xx and throttling.",
)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", help="Summary format.")
def put_events(
    data_dir: str | None,
    files: tuple[Path, ...],
    endpoint_url: str | None,
    region: str | None,
    account_id: str | None,
    batch_size: int,
    max_attempts: int,
    output: str,
) -> None:
    """Send the CloudTrail records in FILES (log files, JSON arrays, JSON Lines; .json or .json.gz;
    directories are searched) to the native ingest endpoint, exactly as the files hold them."""
    import json

    import botocore.exceptions
    import botocore.session
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from opentrail.client import remote, replay
    from opentrail.client.endpoint import resolve_endpoint

    if account_id is not None and not (len(account_id) == 12 and account_id.isdigit()):
        raise ConfigError(f"--account-id must be 12 digits, got {account_id!r}")
    paths = replay.expand(files)
    counts = replay.scan(paths)
    try:
        credentials = remote.resolve_credentials(Path(data_dir) if data_dir else None)
        region = region or botocore.session.Session().get_config_variable("region") or "us-east-1"
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot read the AWS configuration: {exc}") from None
    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeRemainingColumn(),
        console=err_console,
    )

    def retrying(batch: replay.Batch, attempt: int, wait: float, err: RemoteError) -> None:
        progress.console.print(
            f"batch {batch.number}: {err.code}: {err.message}; retrying in {wait:.1f} s "
            f"(attempt {attempt + 1} of {max_attempts})",
            markup=False,
        )

    with remote.Client(resolve_endpoint(endpoint_url), credentials, str(region)) as conn, progress:
        task = progress.add_task("put-events", total=sum(counts))
        replayer = replay.Replayer(conn, account_id, max_attempts=max_attempts, on_retry=retrying)
        summary = replayer.run(
            paths, counts, max_records=batch_size, on_progress=lambda n: progress.advance(task, n)
        )
    if output == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        for line in summary.lines(_MAX_LISTED_REJECTIONS):
            out.print(line, markup=False, highlight=False)
    if not summary.ok:
        sys.exit(1)


@cli.command()
@data_dir_option
def migrate(data_dir: str | None) -> None:
    """Create or upgrade the database schema."""
    settings = _settings(data_dir)
    with _store(settings):
        pass
    out.print(f"database {redacted(settings.database)} is up to date")


# -- lookup-events -------------------------------------------------------------------------------------
_ATTRIBUTE_MEMBERS = ("AttributeKey", "AttributeValue")


def _shorthand_pieces(text: str) -> list[str]:
    """Split at commas outside quotes; quotes group, a backslash escapes the next character."""
    pieces: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in text:
        if escaped:
            buf.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            pieces.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if quote is not None or escaped:
        raise ConfigError(f"--lookup-attributes {text!r} ends inside a quote or after a backslash")
    pieces.append("".join(buf))
    return pieces


def _lookup_attribute(text: str) -> list[dict[str, Any]]:
    """The AWS CLI's forms: shorthand ``AttributeKey=EventName,AttributeValue=CreateTrail`` or JSON."""
    import json

    if text.lstrip().startswith(("{", "[")):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"--lookup-attributes is not valid JSON: {exc}") from None
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(item, dict) for item in items):
            raise ConfigError("--lookup-attributes JSON must be an object or a list of objects")
        return items
    item: dict[str, Any] = {}
    last: str | None = None
    for piece in _shorthand_pieces(text):
        name, sep, value = piece.partition("=")
        if not sep and last is not None:
            # An unquoted comma inside a value (a resource name, say): it belongs to the value.
            item[last] += "," + piece
            continue
        if name.strip() not in _ATTRIBUTE_MEMBERS:
            raise ConfigError(
                f"--lookup-attributes takes AttributeKey=KEY,AttributeValue=VALUE, got {piece!r} in {text!r}"
                " (quote a value that contains '=' or ',')"
            )
        last = name.strip()
        item[last] = value
    return [item]


def _epoch(option: str, text: str) -> float:
    import math

    from opentrail.clock import parse_time

    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            # JSON has no NaN or infinity: they would be sent as null and silently ignored.
            raise ConfigError(f"{option} must be a finite number of epoch seconds, got {text!r}")
        return number
    try:
        return parse_time(text)
    except OpenTrailError:
        raise ConfigError(
            f"{option} must be epoch seconds or an ISO-8601 time such as 2024-05-01T12:00:00Z, got {text!r}"
        ) from None


def _lookup_table(events: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    from opentrail.clock import format_time

    table = Table(show_edge=False, pad_edge=False)
    table.add_column("Time (UTC)", no_wrap=True)
    table.add_column("Event name")
    table.add_column("Source")
    table.add_column("User")
    table.add_column("Event ID", no_wrap=True, min_width=36)
    table.add_column("Resources")
    for event in events:
        resources = "\n".join(
            " ".join(filter(None, (r.get("ResourceType"), r.get("ResourceName"))))
            for r in event.get("Resources") or ()
        )
        cells = (
            format_time(event["EventTime"]) if "EventTime" in event else "",
            event.get("EventName", ""),
            event.get("EventSource", ""),
            event.get("Username", ""),
            event.get("EventId", ""),
            resources,
        )
        # Text, not str: event fields are untrusted and must not be read as rich markup.
        table.add_row(*(Text(str(cell)) for cell in cells))
    # Piped output keeps whole columns instead of being squeezed into 80 characters.
    console = out if out.is_terminal else Console(width=max(out.width, 200))
    console.print(table)
    err_console.print(f"{len(events)} event{'s' if len(events) != 1 else ''}")


@cli.command("lookup-events")
@data_dir_option
@click.option(
    "--lookup-attributes",
    "attributes",
    multiple=True,
    metavar="AttributeKey=KEY,AttributeValue=VALUE",
    help="Filter by one attribute: EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, "
    "EventSource or AccessKeyId.",
)
@click.option("--start-time", default=None, help="Events at or after this time (ISO-8601 or epoch seconds).")
@click.option("--end-time", default=None, help="Events at or before this time (ISO-8601 or epoch seconds).")
@click.option("--event-category", type=click.Choice(["insight"]), default=None, help="Insights events.")
@click.option("--max-items", type=click.IntRange(min=1), default=None, help="Stop after N events [all].")
@click.option("--region", default=None, help="Region [from the AWS configuration, else us-east-1].")
@click.option("--endpoint-url", default=None, help="Server [$OPENTRAIL_ENDPOINT_URL, else the local one].")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", help="Output format.")
def lookup_events(
    data_dir: str | None,
    attributes: tuple[str, ...],
    start_time: str | None,
    end_time: str | None,
    event_category: str | None,
    max_items: int | None,
    region: str | None,
    endpoint_url: str | None,
    output: str,
) -> None:
    """Look up management (or Insights) events in event history, newest first, all pages."""
    import json

    import botocore.exceptions
    import botocore.session

    from opentrail.client import remote
    from opentrail.client.endpoint import resolve_endpoint

    params: dict[str, Any] = {}
    if attributes:
        params["LookupAttributes"] = [item for text in attributes for item in _lookup_attribute(text)]
    if start_time is not None:
        params["StartTime"] = _epoch("--start-time", start_time)
    if end_time is not None:
        params["EndTime"] = _epoch("--end-time", end_time)
    if event_category is not None:
        params["EventCategory"] = event_category
    # One page size for every page: the server binds NextToken to MaxResults.
    params["MaxResults"] = min(50, max_items or 50)
    try:
        credentials = remote.resolve_credentials(Path(data_dir) if data_dir else None)
        region = region or botocore.session.Session().get_config_variable("region") or "us-east-1"
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot read the AWS configuration: {exc}") from None
    events: list[dict[str, Any]] = []
    with remote.Client(resolve_endpoint(endpoint_url), credentials, str(region)) as conn:
        token: str | None = None
        while max_items is None or len(events) < max_items:
            page = conn.cloudtrail("LookupEvents", {**params, "NextToken": token} if token else params)
            events.extend(page.get("Events") or [])
            token = page.get("NextToken")
            if not token:
                break
    events = events[:max_items] if max_items is not None else events
    if output == "json":
        click.echo(json.dumps({"Events": events}, indent=4, ensure_ascii=False))
    else:
        _lookup_table(events)


# -- validate-logs: defined in validation_cli, which ``opentrail validate-logs`` runs without this module --
cli.add_command(validate_logs)


def main() -> None:
    run(cli)


cli.add_command(topic)
cli.add_command(organization)
account.add_command(account_credentials)
