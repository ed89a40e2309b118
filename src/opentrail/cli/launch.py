"""The ``opentrail`` executable: ``validate-logs`` starts lean, everything else goes through ``cli``.

``validate-logs`` is timed against ``aws cloudtrail validate-logs``, and importing click alone costs a
tenth of a run: plain arguments (``--name value``, ``--name=value``, ``--verbose``) are read here, and
anything else (help, a mistake, an abbreviation, ``--``) goes to the click command, which reads and
reports them. ``tests/unit/cli/test_launch.py`` checks that both readings agree.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

# The validate-logs options that take a value, by flag, as parameter names (cli/validate_logs.py's).
_VALUED = {
    "--data-dir": "data_dir",
    "--trail-arn": "trail_arn",
    "--start-time": "start_time",
    "--end-time": "end_time",
    "--s3-bucket": "s3_bucket",
    "--s3-prefix": "s3_prefix",
    "--account-id": "account_id",
    "--endpoint-url": "endpoint_url",
    "--region": "region",
    "--storage-url": "storage_url",
    "--workers": "workers",
    "--output": "output",
}


def quick_arguments(args: list[str]) -> dict[str, Any] | None:
    """The arguments as the click command reads them, or None where click should read (and report)."""
    values: dict[str, Any] = dict.fromkeys(_VALUED.values())
    values["verbose"] = False
    at = 0
    while at < len(args):
        arg = args[at]
        if arg == "--verbose":
            values["verbose"] = True
            at += 1
            continue
        flag, eq, value = arg.partition("=")
        if flag not in _VALUED:
            return None
        if not eq:
            if at + 1 == len(args):
                return None
            value = args[at + 1]
        if value.startswith("-"):
            return None
        values[_VALUED[flag]] = value
        at += 1 if eq else 2
    if values["trail_arn"] is None or values["start_time"] is None:
        return None
    if values["data_dir"] is None:
        values["data_dir"] = os.environ.get("OPENTRAIL_DATA_DIR") or None
    workers = "16" if values["workers"] is None else values["workers"]
    if not (workers.isascii() and workers.isdigit() and 1 <= int(workers) <= 256):
        return None
    values["workers"] = int(workers)
    if values["output"] is None:
        values["output"] = "text"
    if values["output"] not in ("text", "json"):
        return None
    return values


def _exit_now(code: int | str | None) -> NoReturn:
    """Exit as ``sys.exit(code)`` would once the output is flushed, without tearing the interpreter
    down: freeing every imported module takes a tenth of a run, and nothing is left to clean up
    (threads joined, connections closed). A failing flush goes the usual way, which reports it."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    if code is None or isinstance(code, int):
        os._exit(code or 0)
    sys.exit(code)


def _validate_logs(arguments: dict[str, Any]) -> None:
    from opentrail.errors import OpenTrailError
    from opentrail.validate.command import execute

    try:
        execute(arguments)
    except SystemExit as done:
        _exit_now(done.code)
    except (OpenTrailError, KeyboardInterrupt) as exc:
        from opentrail.cli.common import fail

        fail(exc)


def main() -> None:
    """``opentrail``: ``validate-logs`` read here if it can be, else click reads every command."""
    if sys.argv[1:2] == ["validate-logs"]:
        quick = quick_arguments(sys.argv[2:])
        if quick is not None:
            _validate_logs(quick)
        from opentrail.cli.common import run_command
        from opentrail.cli.validate_logs import validate_logs

        run_command(validate_logs, sys.argv[2:], prog_name="opentrail validate-logs")
    else:
        from opentrail.cli.common import run_command
        from opentrail.cli.main import cli

        run_command(cli)
