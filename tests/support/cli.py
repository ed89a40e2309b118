"""The ``opentrail`` command run in process by click's ``CliRunner``, for the tests of the local commands
(those that open the data directory themselves)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import contextmanager

from click.testing import CliRunner, Result

from opentrail.cli.main import cli
from tests.support.services import sqlite_store


def opentrail(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """``opentrail ARGS`` as click runs it. An error the command raises stays in ``result.exception``:
    the executable reports it through ``cli.common.fail`` (``tests/unit/cli/test_common.py``)."""
    return CliRunner().invoke(cli, list(args), env=env, prog_name="opentrail")


def printed(output: str) -> dict[str, str]:
    """The ``name = value`` lines a command printed."""
    return dict(line.split(" = ", 1) for line in output.splitlines() if " = " in line)


# The store of a data directory the commands made (its own database file), closed afterwards.
store_of = contextmanager(sqlite_store)
