"""``opentrail put-events``: CloudTrail records from files, replayed into the server's native ingest
endpoint (a client command; the reading, batching and retrying are ``client/replay.py``'s)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from opentrail.cli.common import (
    check_account_id,
    data_dir_option,
    endpoint_option,
    err_console,
    out,
    region_option,
    remote_client,
)
from opentrail.errors import RemoteError

if TYPE_CHECKING:
    from opentrail.client import replay

MAX_LISTED_REJECTIONS = 20


@click.command("put-events")
@data_dir_option
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@endpoint_option
@region_option
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from opentrail.client import replay

    if account_id is not None:
        check_account_id("--account-id", account_id)
    paths = replay.expand(files)
    counts = replay.scan(paths)
    with remote_client(data_dir, endpoint_url, region) as conn:
        progress = Progress(
            TextColumn("sending"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records"),
            TimeRemainingColumn(),
            console=err_console(),
        )

        def retrying(batch: replay.Batch, attempt: int, wait: float, err: RemoteError) -> None:
            progress.console.print(
                f"batch {batch.number}: {err.code}: {err.message}; retrying in {wait:.1f} s "
                f"(attempt {attempt + 1} of {max_attempts})",
                markup=False,
            )

        with progress:
            task = progress.add_task("put-events", total=sum(counts))
            replayer = replay.Replayer(conn, account_id, max_attempts=max_attempts, on_retry=retrying)
            summary = replayer.run(
                paths, counts, max_records=batch_size, on_progress=lambda n: progress.advance(task, n)
            )
    if output == "json":
        click.echo(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    else:
        console = out()
        for line in summary.lines(MAX_LISTED_REJECTIONS):
            console.print(line, markup=False, highlight=False)
    if not summary.ok:
        sys.exit(1)
