"""The ``opentrail validate-logs`` command, and the lean start that runs it without the rest of the CLI.

``opentrail.launch`` sends ``opentrail validate-logs ...`` here when its own quick reading of the
arguments declines them (help, mistakes, unusual forms): the full CLI (the store, the accounts, rich,
...) costs more to import than validating a day of logs takes. ``cli`` registers the same command, so
``opentrail --help`` lists it and every way runs ``validate.command.execute``.
"""

from __future__ import annotations

from typing import Any

import click

from opentrail.cli.common import run


@click.command("validate-logs")
@click.option(
    "--data-dir", envvar="OPENTRAIL_DATA_DIR", default=None, help="Data directory [./opentrail-data]."
)
@click.option("--trail-arn", required=True, help="ARN of the trail whose log files to validate.")
@click.option("--start-time", required=True, help="Validate log files delivered at or after this UTC time.")
@click.option("--end-time", default=None, help="... and at or before this UTC time [now].")
@click.option("--s3-bucket", default=None, help="Bucket of the digests [the trail's, from DescribeTrails].")
@click.option("--s3-prefix", default=None, help="Key prefix of the digests (with --s3-bucket).")
@click.option("--account-id", default=None, help="Account whose files to validate [the trail's].")
@click.option("--verbose", is_flag=True, help="Also print every valid digest and log file.")
@click.option("--endpoint-url", default=None, help="Server [$OPENTRAIL_ENDPOINT_URL, else the local one].")
@click.option("--region", default=None, help="Source region to validate [the trail's home region].")
@click.option(
    "--storage-url",
    default=None,
    help="Read the buckets directly (file:///path or s3://) instead of through the server's S3 API.",
)
@click.option("--workers", type=click.IntRange(1, 256), default=16, show_default=True, help="Parallel reads.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", help="Report format.")
def validate_logs(**arguments: Any) -> None:
    """Check the digest chain and log files of a trail, as `aws cloudtrail validate-logs` does (same
    arguments, lines and exit codes), in parallel, plus unlisted log files and digest hash links."""
    from opentrail.validate.command import execute

    execute(arguments)


def main(args: list[str]) -> None:
    """``opentrail validate-logs ARGS`` as ``cli.main`` runs it, without importing the full CLI."""
    run(validate_logs, args, prog_name="opentrail validate-logs")
