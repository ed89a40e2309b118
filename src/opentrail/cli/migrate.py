"""``opentrail migrate``: create or upgrade the database schema, as every local command does first."""

from __future__ import annotations

import click
from rich.markup import escape

from opentrail.cli.common import data_dir_option, local_settings, local_store, out
from opentrail.store import redacted


@click.command("migrate")
@data_dir_option
def migrate_command(data_dir: str | None) -> None:
    """Create or upgrade the database schema."""
    settings = local_settings(data_dir)
    with local_store(settings):
        pass
    out().print(f"database {escape(redacted(settings.database))} is up to date")
