"""The ``opentrail`` command run in process by click's ``CliRunner``, for the tests of the local commands
(those that open the data directory themselves)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from opentrail.cli.main import cli
from opentrail.store import Store, open_store


def opentrail(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """``opentrail ARGS`` as click runs it. An error the command raises stays in ``result.exception``:
    the executable reports it through ``cli.common.fail`` (``tests/unit/cli/test_common.py``)."""
    return CliRunner().invoke(cli, list(args), env=env, prog_name="opentrail")


def printed(output: str) -> dict[str, str]:
    """The ``name = value`` lines a command printed."""
    return dict(line.split(" = ", 1) for line in output.splitlines() if " = " in line)


@contextmanager
def store_of(data_dir: Path) -> Iterator[Store]:
    """The store of a data directory the commands made, closed afterwards."""
    store = open_store(f"sqlite:///{data_dir / 'opentrail.db'}")
    try:
        yield store
    finally:
        store.close()
