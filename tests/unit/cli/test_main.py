"""The ``opentrail`` command tree (``cli/main.py``): every command docs/cli.md documents answers under its
documented name, ``--version`` prints the package's version, and a name the tree does not have is a usage
error. (``tests/e2e/test_docs.py`` checks the other way: that everything registered is documented.)"""

from __future__ import annotations

import re
from importlib.metadata import version

import click
import pytest

from tests.support.cli import opentrail
from tests.support.server import ROOT

DOCUMENTED = re.findall(r"^## opentrail (.+)$", (ROOT / "docs" / "cli.md").read_text(), re.MULTILINE)


def test_the_docs_are_read() -> None:
    assert {"serve", "bucket create", "organization create-account", "validate-logs"} <= set(DOCUMENTED)


@pytest.mark.parametrize("path", DOCUMENTED)
def test_every_documented_command_is_in_the_tree(path: str) -> None:
    result = opentrail(*path.split(), "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: opentrail {path} ")


def test_the_local_and_client_commands_the_docs_name_are_commands() -> None:
    intro = (ROOT / "docs" / "cli.md").read_text().split("\n## ", 1)[0]
    kinds = re.findall(r"^- \*\*(?:Local|Client) commands\*\* \(([^)]*)\)", intro, re.MULTILINE)
    named = {name for kind in kinds for name in re.findall(r"`([a-z -]+)`", kind)}
    assert {"serve", "migrate", "account grant", "put-events", "lookup-events"} <= named
    for name in named:
        assert opentrail(*name.split(), "--help").exit_code == 0, name


def test_the_version_is_the_packages() -> None:
    result = opentrail("--version")
    assert (result.exit_code, result.stdout) == (0, f"opentrail, version {version('opentrail')}\n")


@pytest.mark.parametrize("args", [["trails"], ["topic", "show"], ["account", "delete"]])
def test_a_command_the_tree_does_not_have_is_a_usage_error(args: list[str]) -> None:
    result = opentrail(*args)
    assert result.exit_code == click.UsageError.exit_code
    assert f"No such command '{args[-1]}'" in result.stderr
