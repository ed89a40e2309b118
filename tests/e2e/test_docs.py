"""Docs that cannot rot: every setting, command, option and operation is documented, the docs name
nothing that does not exist, and the README's commands run.

Everything is read from the code at test time (``Settings``'s fields, the click command tree,
``server.operations.OPERATIONS``), so a new setting, option or operation fails here until it is documented.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore
import click
import pytest

from opentrail.cli.main import cli
from opentrail.server import operations
from opentrail.server.metrics import Metrics
from opentrail.settings import Settings
from tests.support.server import ROOT, Server

DOCS = ROOT / "docs"
README = ROOT / "README.md"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def sections(text: str, level: str = "## ") -> dict[str, str]:
    """Markdown sections by heading text (without the leading #s)."""
    found: dict[str, str] = {}
    title = ""
    for line in text.splitlines():
        if line.startswith(level):
            title = line[len(level) :].strip()
            found[title] = ""
        elif title:
            found[title] += line + "\n"
    return found


def code_lines(text: str) -> Iterator[str]:
    """Lines of fenced ``sh`` code blocks."""
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        yield from (line.strip() for line in block.splitlines() if line.strip())


# -- settings -----------------------------------------------------------------------------------------


def settings_table() -> str:
    return sections(read(DOCS / "settings.md"))["Server settings"]


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    assert f"| `OPENTRAIL_{name.upper()}` |" in settings_table()


def test_the_settings_table_names_only_real_settings() -> None:
    documented = re.findall(r"^\| `OPENTRAIL_([A-Z_]+)` \|", settings_table(), re.MULTILINE)
    assert documented
    assert {name.lower() for name in documented} == {f.name for f in dataclasses.fields(Settings)}


# -- the CLI ------------------------------------------------------------------------------------------


def commands(group: click.Group = cli, prefix: str = "opentrail") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path, command


def long_options(command: click.Command) -> list[str]:
    return [opt for param in command.params if isinstance(param, click.Option) for opt in param.opts]


def cli_sections() -> dict[str, str]:
    return sections(read(DOCS / "cli.md"))


@pytest.mark.parametrize(("path", "command"), list(commands()), ids=[path for path, _ in commands()])
def test_every_command_and_option_is_documented(path: str, command: click.Command) -> None:
    section = cli_sections().get(path)
    assert section is not None, f"docs/cli.md has no '## {path}' section"
    for option in long_options(command):
        assert f"`{option}" in section, f"{option} of `{path}` is not documented in its section"


def test_cli_sections_name_only_real_commands() -> None:
    real = {path for path, _ in commands()}
    documented = {title for title in cli_sections() if title.startswith("opentrail ")}
    assert documented == real


def test_the_top_level_options_are_documented() -> None:
    text = read(DOCS / "cli.md")
    for option in long_options(cli):
        assert f"opentrail {option}" in text


def resolve(argv: list[str]) -> tuple[str, click.Command, list[str]]:
    """The command an ``opentrail ...`` line runs, and the long options it passes."""
    command: click.Command = cli
    path = "opentrail"
    rest = argv[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in command.commands, f"`{path}` has no command {name!r}"
        command = command.commands[name]
        path = f"{path} {name}"
    return path, command, [arg.split("=", 1)[0] for arg in rest if arg.startswith("--")]


def documented_command_lines() -> list[str]:
    texts = [read(README), *(read(p) for p in sorted(DOCS.rglob("*.md")))]
    return [line for text in texts for line in code_lines(text)]


def test_every_opentrail_command_line_in_the_docs_is_real() -> None:
    lines = [line for line in documented_command_lines() if line.startswith("opentrail ")]
    assert len(lines) >= 8
    for line in lines:
        path, command, options = resolve(shlex.split(line))
        assert not isinstance(command, click.Group), f"{line!r} names a group, not a command"
        known = {*long_options(command), "--help"}
        for option in options:
            assert option in known, f"{line!r}: `{path}` has no option {option}"


def test_every_aws_cloudtrail_command_line_in_the_docs_is_served() -> None:
    served = {botocore.xform_name(name, "-"): name for name in operations.OPERATIONS}
    lines = [line for line in documented_command_lines() if line.startswith("aws cloudtrail ")]
    assert lines
    for line in lines:
        subcommand = shlex.split(line)[2]
        assert subcommand in served, f"{line!r}: the server does not answer {subcommand}"


# -- the API ------------------------------------------------------------------------------------------


def api_text() -> str:
    return read(DOCS / "api.md")


def documented_operations() -> set[str]:
    """Operations named in the first column of docs/api.md's operation tables, or as a paragraph lead."""
    section = sections(api_text())["CloudTrail operations"]
    documented = set()
    for cell in re.findall(r"^\| (`[A-Z][A-Za-z]+`(?:, `[A-Z][A-Za-z]+`)*) \|", section, re.MULTILINE):
        documented.update(re.findall(r"`([A-Za-z]+)`", cell))
    documented.update(re.findall(r"^`([A-Z][A-Za-z]+)`:", section, re.MULTILINE))
    return documented


@pytest.mark.parametrize("operation", sorted(operations.OPERATIONS))
def test_every_operation_is_documented(operation: str) -> None:
    assert operation in documented_operations(), f"docs/api.md does not document {operation}"


def test_documented_operations_are_served() -> None:
    assert documented_operations() - set(operations.OPERATIONS) == set()


def documented_organizations_operations() -> set[str]:
    section = sections(api_text())["Organizations operations"]
    return set(re.findall(r"^\| `([A-Z][A-Za-z]+)` \|", section, re.MULTILINE))


def test_every_organizations_operation_is_documented_and_served() -> None:
    served = set(operations.JSON_SERVICES["organizations"].operations)
    assert documented_organizations_operations() == served


@pytest.mark.parametrize("endpoint", ["/PutAuditEvents", "/IngestRecords", "/health", "/metrics"])
def test_every_endpoint_is_documented(endpoint: str) -> None:
    assert f"`POST {endpoint}" in api_text() or f"`GET {endpoint}`" in api_text()


def test_every_metric_is_documented() -> None:
    for metric in Metrics().registry.collect():
        name = metric.name + ("_total" if metric.type == "counter" else "")
        assert f"`{name}" in api_text(), name


# -- the README ---------------------------------------------------------------------------------------


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", read(ROOT / "Makefile"), re.MULTILINE))


def test_the_readme_make_commands_are_targets_of_the_makefile() -> None:
    used = set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", read(README), re.MULTILINE))
    assert {"run", "test"} <= used
    assert used <= make_targets(), used - make_targets()
    for target in sorted(used):
        # A dry run: make resolves the target and its prerequisites without running anything.
        result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in read(ROOT / ".ci" / "run")


def test_relative_links_resolve() -> None:
    for page in [README, *sorted(DOCS.rglob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", read(page)):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def tour() -> list[str]:
    match = re.search(r"<!-- tour:.*?-->\n```sh\n(.*?)```", read(README), re.DOTALL)
    assert match, "README.md has no tour block"
    return [line for line in match[1].splitlines() if line.strip()]


def test_the_readme_tour_runs(fresh_server: Server) -> None:
    """Every command of the README's tour, run by bash as a user would, after the README's exports."""
    env = fresh_server.aws_env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name)
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(fresh_server.data_dir / "credentials"),
        OPENTRAIL_DATA_DIR=str(fresh_server.data_dir),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    outputs = {}
    for line in tour():
        result = subprocess.run(
            ["bash", "-c", line], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        outputs[line] = result.stdout
    by_start = {line.split(" --")[0]: out for line, out in outputs.items()}
    assert "accepted: 2" in by_start["opentrail put-events docs/examples/cloudtrail-log.json"]
    assert "3b1f2a6e-3d7c-4f0a-9a51-0c2f5e9d8a01" in by_start["opentrail lookup-events"]
    assert '\\"eventName\\":\\"CreateTrail\\"' in by_start["aws cloudtrail lookup-events"]
    assert '"Key": "team"' in by_start["aws cloudtrail list-tags"]
    assert "15 CIS controls installed on tour-events" in by_start["opentrail alarms install-cis"]
    assert '"AlarmName": "root_usage_alarm"' in by_start["aws cloudwatch describe-alarms"]


# -- decisions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["0001-records-kept-as-sent.md", "0002-event-history-window.md", "0003-sqlite-group-commit.md"],
)
def test_decision_records_say_what_and_why(name: str) -> None:
    text = read(DOCS / "adr" / name)
    for heading in ("## Context", "## Decision", "## Consequences"):
        assert heading in text
