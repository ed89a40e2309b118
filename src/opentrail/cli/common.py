"""How an ``opentrail`` command ends on an error: the same lines and exit codes whichever entry point
ran it (the full CLI, or the quick ``validate-logs`` paths, which never import the full CLI unless
there is an error to show)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from opentrail.errors import OpenTrailError


def fail(exc: BaseException) -> NoReturn:
    """Report ``exc`` and exit: 1 when aborted, click's own code for usage errors, 2 otherwise."""
    from opentrail.cli.main import err_console

    if isinstance(exc, click.exceptions.Abort | KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(1)
    if isinstance(exc, click.ClickException):
        exc.show()
        sys.exit(exc.exit_code)
    err_console.print(f"[red]error:[/red] {exc}")
    err_console.print("see `opentrail --help`, or the settings listed in docs/settings.md")
    sys.exit(2)


def run(command: click.Command, args: list[str] | None = None, prog_name: str | None = None) -> None:
    try:
        command.main(args, prog_name=prog_name, standalone_mode=False)
    except (click.exceptions.Abort, click.ClickException, OpenTrailError) as exc:
        fail(exc)
