"""The ``opentrail`` command group: every command registered here, each defined in the module of its group
(``serve``, ``buckets``, ``accounts``, ``topics``, ``organizations``, ``put_events``, ``lookup_events``,
``validate_logs``, ``migrate``, ``alarms``). Errors are caught once, in ``common.run_command``, and
printed with a remedy."""

from __future__ import annotations

import click

from opentrail import __version__
from opentrail.cli.accounts import account
from opentrail.cli.alarms import alarms
from opentrail.cli.buckets import bucket
from opentrail.cli.lookup_events import lookup_events_command
from opentrail.cli.migrate import migrate_command
from opentrail.cli.organizations import organization
from opentrail.cli.put_events import put_events
from opentrail.cli.serve import serve
from opentrail.cli.topics import topic
from opentrail.cli.validate_logs import validate_logs


@click.group()
@click.version_option(__version__, prog_name="opentrail")
def cli() -> None:
    """OpenTrail: a self-hosted audit trail service, wire-compatible with AWS CloudTrail."""


for command in (
    serve,
    bucket,
    account,
    put_events,
    migrate_command,
    lookup_events_command,
    validate_logs,
    topic,
    organization,
    alarms,
):
    cli.add_command(command)
