"""``opentrail validate-logs`` end to end, without click: credentials, endpoints and the trail resolved
as the AWS CLI resolves them, the chain walked, the report printed, the AWS CLI's exit status.

``cli/launch.py`` calls ``execute`` straight from its own reading of the arguments, and
``cli/validate_logs.py`` from click's: both pass the same ``Options``. Everything costly (botocore,
rich, the storage backends) is imported only on the paths that need it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from opentrail.client.endpoint import resolve_endpoint, resolve_s3_endpoint
from opentrail.errors import ConfigError, ValidationAborted
from opentrail.validate import readers
from opentrail.validate.http import Reply, SigV4, SocketClient, TransportError, json_error
from opentrail.validate.report import Report, startup_text, write_json, write_text
from opentrail.validate.times import parse_cli_time
from opentrail.validate.trail import find_trail
from opentrail.validate.verdicts import Verdict
from opentrail.validate.walk import Result, walk_chain

if TYPE_CHECKING:
    from opentrail.storage.encryption import MasterKey
    from opentrail.validate.readers import Reader

ABORTED = 255  # the AWS CLI's exit status when validate-logs cannot run at all
MAX_CONNECTIONS = 4


class Options:
    """The arguments of ``opentrail validate-logs``, as the CLI parsed them."""

    __slots__ = (
        "account_id", "data_dir", "end_time", "endpoint_url", "output", "region", "s3_bucket",
        "s3_prefix", "start_time", "storage_url", "trail_arn", "verbose", "workers",
    )  # fmt: skip

    def __init__(
        self,
        *,
        data_dir: str | None,
        trail_arn: str,
        start_time: str,
        end_time: str | None,
        s3_bucket: str | None,
        s3_prefix: str | None,
        account_id: str | None,
        verbose: bool,
        endpoint_url: str | None,
        region: str | None,
        storage_url: str | None,
        workers: int,
        output: str,
    ) -> None:
        self.data_dir, self.trail_arn, self.start_time, self.end_time = (
            data_dir, trail_arn, start_time, end_time,
        )  # fmt: skip
        self.s3_bucket, self.s3_prefix, self.account_id, self.verbose = (
            s3_bucket, s3_prefix, account_id, verbose,
        )  # fmt: skip
        self.endpoint_url, self.region, self.storage_url, self.workers, self.output = (
            endpoint_url, region, storage_url, workers, output,
        )  # fmt: skip


def execute(arguments: dict[str, Any]) -> NoReturn:
    """Run ``opentrail validate-logs`` with its parsed arguments and exit with its status."""
    try:
        code = command(Options(**arguments))
    except ValidationAborted as exc:
        # The AWS CLI's own rendering of an exception, so scripts see the same text and status.
        sys.stdout.flush()
        sys.stderr.write(f"\n{exc}\n")
        sys.exit(ABORTED)
    sys.exit(code)


def command(options: Options) -> int:
    """``opentrail validate-logs``: resolve the trail, walk its chain, print the AWS CLI's report."""
    result = _window(options)
    access_key, secret_key, token = _credentials(options.data_dir)
    signer = SigV4(access_key, secret_key, token, _signing_region(options.region))
    endpoint = resolve_endpoint(options.endpoint_url)
    s3_endpoint = resolve_s3_endpoint(endpoint)
    # A few connections keep the server busy; more only add wake-ups (one I/O thread drives them all).
    connections = min(options.workers, MAX_CONNECTIONS)
    conn = SocketClient(endpoint, signer, connections)
    s3 = conn if s3_endpoint == endpoint else SocketClient(s3_endpoint, signer, connections)
    try:
        api = _Api(conn)
        files = find_trail(
            options.trail_arn,
            api.describe_trails,
            options.s3_bucket,
            options.s3_prefix,
            options.account_id,
            options.region,
            api.organization_id,
        )
        if options.output == "text":
            sys.stdout.write(startup_text(options.trail_arn, result))
            sys.stdout.flush()
        reader = _reader(options, s3)
        with _progress(options.output) as scheduled:
            lines = walk_chain(reader, files, result, api.public_keys, options.workers, scheduled)
    finally:
        conn.close()
        s3.close()
    return _print(Report(files, result, lines), options)


def _window(options: Options) -> Result:
    start = parse_cli_time(options.start_time)
    end = parse_cli_time(options.end_time) if options.end_time else datetime.now(UTC)
    if start > end:
        raise ValidationAborted("Invalid time range specified: start-time must occur before end-time")
    return Result(start, end)


def _print(report: Report, options: Options) -> int:
    if options.output == "json":
        write_json(report, sys.stdout)
    else:
        write_text(report, options.verbose, sys.stdout, sys.stderr)
    return 0 if report.ok else 1


class _Api:
    """The calls the run makes to the server's JSON APIs; any failure aborts in botocore's words."""

    def __init__(self, conn: SocketClient) -> None:
        self.conn = conn

    def _answer(self, operation: str, call: Callable[[], Reply]) -> Any:
        try:
            reply = call()
        except TransportError as exc:
            code, message = "ConnectionError", f"cannot reach {self.conn.endpoint_url}: {exc}"
        else:
            if reply.status < 300:
                return json.loads(reply.body) if reply.body else {}
            code, message = json_error(reply)
        raise ValidationAborted(
            f"An error occurred ({code}) when calling the {operation} operation: {message}"
        )

    def cloudtrail(self, operation: str, params: dict[str, Any]) -> Any:
        return self._answer(operation, lambda: self.conn.cloudtrail(operation, params))

    def describe_trails(self) -> list[dict[str, Any]]:
        return list(self.cloudtrail("DescribeTrails", {}).get("trailList") or [])

    def public_keys(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        window = {"StartTime": since.timestamp(), "EndTime": until.timestamp()}
        return list(self.cloudtrail("ListPublicKeys", window).get("PublicKeyList") or [])

    def organization_id(self) -> str:
        operation = "DescribeOrganization"
        answer = self._answer(operation, lambda: self.conn.organizations(operation, {}))
        return str(answer["Organization"]["Id"])


def _credentials(data_dir: str | None) -> tuple[str, str, str | None]:
    """Access key, secret and token: from the environment as botocore's first provider reads them, else
    the standard chain (profiles, ...) and the server's credentials file through botocore."""
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        token = next((env[name] for name in ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN") if name in env), None)
        return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], token
    from pathlib import Path

    import botocore.exceptions

    from opentrail.client import remote

    try:
        found = remote.resolve_credentials(Path(data_dir) if data_dir else None)
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot read the AWS configuration: {exc}") from None
    if not found.access_key or not found.secret_key:
        raise ConfigError("credentials need both an access key id and a secret access key")
    return found.access_key, found.secret_key, found.token


def _signing_region(region: str | None) -> str:
    if region:
        return region
    if "AWS_DEFAULT_REGION" in os.environ:  # botocore's first source for the region
        return os.environ["AWS_DEFAULT_REGION"] or "us-east-1"
    import botocore.exceptions
    import botocore.session

    try:
        configured = botocore.session.Session().get_config_variable("region")
    except botocore.exceptions.BotoCoreError as exc:
        raise ConfigError(f"cannot read the AWS configuration: {exc}") from None
    return str(configured or "us-east-1")


def _reader(options: Options, s3: SocketClient) -> Reader:
    """The buckets read directly with ``--storage-url``, else through the S3 API."""
    if options.storage_url is None:
        return readers.S3Reader(s3)
    from opentrail.storage import open_storage

    return readers.StorageReader(open_storage(options.storage_url, _master_key(options.data_dir)))


def _master_key(data_dir: str | None) -> MasterKey | None:
    """The data dir's master key, which opens SSE-KMS log files in a local bucket store; None when there
    is none (never created here: a new key would open nothing)."""
    from pathlib import Path

    from opentrail.storage.encryption import MASTER_KEY_FILE, MasterKey

    path = Path(data_dir or os.environ.get("OPENTRAIL_DATA_DIR", "./opentrail-data"))
    if not (path / MASTER_KEY_FILE).is_file():
        return None
    return MasterKey.load_or_create(path)


@contextmanager
def _progress(output: str) -> Iterator[Callable[[Future[Verdict]], None]]:
    """A progress bar on a terminal's stderr (rich is imported only then); yields the callback the walk
    calls for each log check it schedules."""
    env = os.environ
    maybe_terminal = sys.stderr.isatty() or "FORCE_TERMINAL" in env or "TTY_COMPATIBLE" in env
    if output != "text" or not maybe_terminal:
        yield lambda _: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, soft_wrap=True)
    progress = Progress(
        TextColumn("validating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("log files"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task("validate-logs", total=0)

        def scheduled(future: Future[Verdict]) -> None:
            progress.update(task, total=(progress.tasks[0].total or 0) + 1)
            future.add_done_callback(lambda _: progress.advance(task))

        yield scheduled
