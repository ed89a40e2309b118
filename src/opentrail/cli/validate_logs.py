"""The ``opentrail validate-logs`` command as click reads it.

``cli/launch.py`` runs ``validate-logs`` without click when its own quick reading of the arguments
succeeds, and sends anything else here (help, mistakes, unusual forms) without importing the rest of the
CLI: the store, the accounts, rich, ... cost more to import than validating a day of logs takes.
``cli/main.py`` registers the same command, so ``opentrail --help`` lists it; every way runs
``validate.command.execute``.
"""

from __future__ import annotations

from typing import Any

import click

from opentrail.cli.common import data_dir_option, endpoint_option


@click.command("validate-logs")
@data_dir_option
@click.option("--trail-arn", required=True, help="ARN of the trail whose log files to validate.")
@click.option("--start-time", required=True, help="Validate log files delivered at or after this UTC time.")
@click.option("--end-time", default=None, help="... and at or before this UTC time [now].")
@click.option("--s3-bucket", default=None, help="Bucket of the digests [the trail's, from DescribeTrails].")
@click.option("--s3-prefix", default=None, help="Key prefix of the digests (with --s3-bucket).")
@click.option("--account-id", default=None, help="Account whose files to validate [the trail's].")
@click.option("--verbose", is_flag=True, help="Also print every valid digest and log file.")
@endpoint_option
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
