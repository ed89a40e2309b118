"""``opentrail validate-logs`` end to end, and what it prints: the AWS CLI's lines and summary, or a
JSON report.

Text output is the AWS CLI's to the byte (§5.8 step 11): ``valid`` lines on stdout with ``--verbose``,
INVALID and gap lines on stderr each followed by a blank line, the summary on stdout. Lines from the
checks the AWS CLI does not make use the same shape, so a script that greps INVALID sees them too.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, NoReturn

from opentrail.errors import ConfigError, ValidationAborted
from opentrail.validate import chain as v
from opentrail.validate import readers
from opentrail.validate.chain import (
    Entry,
    Gap,
    Result,
    Trail,
    Walk,
    display,
    load_public_keys,
    preload_crypto,
    resolve,
)
from opentrail.validate.http import Client, SigV4, TransportError, json_error

_ARN = re.compile(r"arn:.+:cloudtrail:.+:\d{12}:trail/.+")

if TYPE_CHECKING:
    from opentrail.storage.encryption import MasterKey
    from opentrail.validate.chain import Reader


class Report:
    """A finished run: its verdicts in walk order and the summary counts."""

    __slots__ = ("lines", "result", "trail")

    def __init__(self, trail: Trail, result: Result, lines: list[Entry | Gap]) -> None:
        self.trail, self.result, self.lines = trail, result, lines

    def count(self, kind: str, valid: bool) -> int:
        return sum(1 for e in self.lines if isinstance(e, Entry) and e.kind == kind and e.valid == valid)

    @property
    def ok(self) -> bool:
        return not any(isinstance(e, Entry) and not e.valid for e in self.lines)


def run(
    reader: Reader,
    trail: Trail,
    result: Result,
    list_public_keys: Callable[[Any, Any], list[dict[str, Any]]],
    workers: int,
    on_log_scheduled: Callable[[Future[Entry]], None] = lambda _: None,
) -> Report:
    """Fetch keys, list and walk. The keys are asked for while the digests are listed, and waited
    for first, so a failure aborts where the AWS CLI's (keys first, then the listing) does."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        walk = Walk(reader, trail, {}, pool, on_log_scheduled)
        keys = pool.submit(load_public_keys, list_public_keys, result.start, result.end)
        pool.submit(preload_crypto)  # while the keys and the digests are being listed
        walk.run(result, keys)
        lines = resolve(result.items)
    return Report(trail, result, [*lines, *walk.unlisted_logs()])


def parse_arn(arn: str) -> None:
    if not _ARN.match(arn):
        raise ValidationAborted(f"Invalid trail ARN provided: {arn}")


def find_trail(
    arn: str,
    describe_trails: Callable[[], list[dict[str, Any]]],
    bucket: str | None,
    prefix: str | None,
    account_id: str | None,
    region: str | None,
    organization_id: Callable[[], str] | None = None,
) -> Trail:
    """The trail's bucket and key layout: from DescribeTrails, or as given with ``--s3-bucket``. An
    organization trail's keys carry the organization id (``AWSLogs/<o-id>/<account>/``), which
    ``organization_id`` asks Organizations' DescribeOrganization for, as the AWS CLI does."""
    parse_arn(arn)
    organization = None
    if bucket is None:
        found = next((t for t in describe_trails() if t.get("TrailARN") == arn), None)
        if found is None:
            raise ValidationAborted(f"A trail could not be found for {arn}")
        bucket, prefix = str(found["S3BucketName"]), found.get("S3KeyPrefix")
        if found.get("IsOrganizationTrail"):
            if not account_id:
                raise ValidationAborted("Missing required parameter for organization trail: '--account-id'")
            if organization_id is None:
                raise ValidationAborted(
                    f"{arn} is an organization trail; give --s3-bucket and --s3-prefix "
                    "<prefix>/AWSLogs/<organization id> to validate it without the Organizations API"
                )
            organization = organization_id()
    fields = arn.split(":")
    home = fields[3]
    return Trail(
        arn=arn,
        bucket=bucket,
        prefix=prefix or None,
        account=account_id or fields[4],
        name=arn.split("/")[-1],
        home_region=home,
        source_region=region or home,
        organization=organization,
    )


def startup_text(arn: str, result: Result) -> str:
    return (
        f"Validating log files for trail {arn} between {display(result.start)} and {display(result.end)}\n\n"
    )


def _line(item: Entry | Gap) -> str:
    if isinstance(item, Gap):
        return (
            f"No log files were delivered by CloudTrail between {display(item.after)} and "
            f"{display(item.before)}"
        )
    label = "Digest file" if item.kind == "digest" else "Log file"
    status = "valid" if item.reason is None else f"INVALID: {item.reason}"
    return f"{label}\ts3://{item.bucket}/{item.key}\t{status}"


def write_text(report: Report, verbose: bool, out: IO[str], err: IO[str]) -> None:
    # A blank line separates an error from verbose lines before it, never doubles after another error.
    spaced = True
    for item in report.lines:
        if isinstance(item, Gap) or not item.valid:
            err.write(f"{_line(item)}\n\n" if spaced else f"\n{_line(item)}\n\n")
            spaced = True
        elif verbose:
            out.write(f"{_line(item)}\n")
            spaced = False
    if not spaced:
        out.write("\n")
    result = report.result
    out.write(f"Results requested for {display(result.start)} to {display(result.end)}\n")
    digests = (report.count("digest", True), report.count("digest", False))
    if not sum(digests):
        out.write("No digests found\n")
        return
    if result.found_start is None or result.found_end is None:
        out.write("No valid digests found in range\n")
    else:
        out.write(f"Results found for {display(result.found_start)} to {display(result.found_end)}:\n")
    for (valid, invalid), name in ((digests, "digest"), (_logs(report), "log")):
        total = valid + invalid
        if total:
            out.write(f"\n{valid}/{total} {name} files valid")
            if invalid:
                out.write(f", {invalid}/{total} {name} files INVALID")
    out.write("\n")


def _logs(report: Report) -> tuple[int, int]:
    return report.count("log", True), report.count("log", False)


def _entries(items: Sequence[Entry | Gap], kind: str) -> list[dict[str, Any]]:
    return [
        {
            "s3Bucket": e.bucket,
            "s3Object": e.key,
            "status": "valid" if e.valid else "INVALID",
            "reason": e.reason,
            "beyondAwsCli": e.extra,
        }
        for e in items
        if isinstance(e, Entry) and e.kind == kind
    ]


def to_json(report: Report) -> dict[str, Any]:
    """The machine-readable report: every verdict with its reason, the gaps, the counts."""
    result = report.result
    found = None
    if result.found_start is not None and result.found_end is not None:
        found = {"start": display(result.found_start), "end": display(result.found_end)}
    counts = {
        kind: {"valid": report.count(kind, True), "invalid": report.count(kind, False)}
        for kind in ("digest", "log")
    }
    return {
        "trailArn": report.trail.arn,
        "s3Bucket": report.trail.bucket,
        "s3Prefix": report.trail.prefix,
        "requested": {"start": display(result.start), "end": display(result.end)},
        "found": found,
        "valid": report.ok,
        "digests": _entries(report.lines, "digest"),
        "logFiles": _entries(report.lines, "log"),
        "gaps": [
            {"from": display(g.after), "to": display(g.before)} for g in report.lines if isinstance(g, Gap)
        ],
        "summary": {"digestFiles": counts["digest"], "logFiles": counts["log"]},
    }


def write_json(report: Report, out: IO[str]) -> None:
    out.write(json.dumps(to_json(report), indent=2) + "\n")


__all__ = ["Report", "ValidationAborted", "run", "startup_text", "to_json", "write_json", "write_text"]


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


# ``opentrail.client``'s default, repeated here so that this path does not import botocore and httpx.
DEFAULT_ENDPOINT = "http://127.0.0.1:8790"
MAX_CONNECTIONS = 4


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


@contextmanager
def _progress(output: str) -> Iterator[Callable[[Future[v.Entry]], None]]:
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

        def scheduled(future: Future[v.Entry]) -> None:
            progress.update(task, total=(progress.tasks[0].total or 0) + 1)
            future.add_done_callback(lambda _: progress.advance(task))

        yield scheduled


ABORTED = 255  # the AWS CLI's exit status when validate-logs cannot run at all


def _master_key(data_dir: str | None) -> MasterKey | None:
    """The data dir's master key, which opens SSE-KMS log files in a local bucket store; None when there
    is none (never created here: a new key would open nothing)."""
    from pathlib import Path

    from opentrail.storage.encryption import MASTER_KEY_FILE, MasterKey

    path = Path(data_dir or os.environ.get("OPENTRAIL_DATA_DIR", "./opentrail-data"))
    if not (path / MASTER_KEY_FILE).is_file():
        return None
    return MasterKey.load_or_create(path)


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
    o = options
    data_dir, trail_arn, start_time, end_time = o.data_dir, o.trail_arn, o.start_time, o.end_time
    s3_bucket, s3_prefix, account_id, region = o.s3_bucket, o.s3_prefix, o.account_id, o.region
    verbose, endpoint_url, storage_url, workers, output = (
        o.verbose, o.endpoint_url, o.storage_url, o.workers, o.output,
    )  # fmt: skip

    start = v.parse_cli_time(start_time)
    end = v.parse_cli_time(end_time) if end_time else datetime.now(UTC)
    if start > end:
        raise ValidationAborted("Invalid time range specified: start-time must occur before end-time")
    access_key, secret_key, token = _credentials(data_dir)
    signer = SigV4(access_key, secret_key, token, _signing_region(region))
    endpoint = (
        endpoint_url
        or os.environ.get("OPENTRAIL_ENDPOINT_URL")
        or os.environ.get("AWS_ENDPOINT_URL")
        or DEFAULT_ENDPOINT
    ).rstrip("/")
    # The server answers S3 on its own port; AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL win, as they do for
    # the AWS CLI.
    s3_endpoint = (
        os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or endpoint
    ).rstrip("/")
    # A few connections keep the server busy; more only add wake-ups (one I/O thread drives them all).
    connections = min(workers, MAX_CONNECTIONS)
    conn = Client(endpoint, signer, connections)
    s3 = conn if s3_endpoint == endpoint else Client(s3_endpoint, signer, connections)
    try:

        def cloudtrail(operation: str, params: dict[str, Any]) -> Any:
            try:
                reply = conn.cloudtrail(operation, params)
            except TransportError as exc:
                code, message = "ConnectionError", f"cannot reach {endpoint}: {exc}"
            else:
                if reply.status < 300:
                    return json.loads(reply.body) if reply.body else {}
                code, message = json_error(reply)
            raise ValidationAborted(
                f"An error occurred ({code}) when calling the {operation} operation: {message}"
            )

        def organization_id() -> str:
            try:
                reply = conn.organizations("DescribeOrganization", {})
            except TransportError as exc:
                code, message = "ConnectionError", f"cannot reach {endpoint}: {exc}"
            else:
                if reply.status < 300:
                    return str(json.loads(reply.body)["Organization"]["Id"])
                code, message = json_error(reply)
            raise ValidationAborted(
                f"An error occurred ({code}) when calling the DescribeOrganization operation: {message}"
            )

        trail = find_trail(
            trail_arn,
            lambda: list(cloudtrail("DescribeTrails", {}).get("trailList") or []),
            s3_bucket,
            s3_prefix,
            account_id,
            region,
            organization_id,
        )
        result = v.Result(start, end)
        if output == "text":
            sys.stdout.write(startup_text(trail_arn, result))
            sys.stdout.flush()
        reader: v.Reader
        if storage_url is not None:
            from opentrail.storage import open_storage

            reader = readers.StorageReader(open_storage(storage_url, _master_key(data_dir)))
        else:
            reader = readers.S3Reader(s3)

        def public_keys(since: datetime, until: datetime) -> list[dict[str, Any]]:
            window = {"StartTime": since.timestamp(), "EndTime": until.timestamp()}
            return list(cloudtrail("ListPublicKeys", window).get("PublicKeyList") or [])

        with _progress(output) as scheduled:
            done = run(reader, trail, result, public_keys, workers, scheduled)
    finally:
        conn.close()
        s3.close()
    if output == "json":
        write_json(done, sys.stdout)
    else:
        write_text(done, verbose, sys.stdout, sys.stderr)
    return 0 if done.ok else 1
