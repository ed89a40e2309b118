"""``opentrail serve`` (``cli/serve.py``) refuses wrong settings before it starts anything: flags and
``OPENTRAIL_*`` variables are read into one ``Settings`` (a flag wins over its variable), a wrong value
is a ``ConfigError`` naming the setting, the value and what was expected, and a role outside
all/api/worker is a usage error. Serving itself runs end to end (``tests/support/server.py``)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from opentrail.errors import ConfigError
from tests.support.cli import opentrail

# Were a wrong setting ever let through, this stops the server before it listens (the database URL is
# opened after the settings are read), so a test fails instead of serving forever.
UNOPENABLE = {"OPENTRAIL_DATABASE_URL": "unsupported://nowhere"}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--port", "0"], {}, "OPENTRAIL_PORT must be between 1 and 65535, got 0"),
        (
            ["--port", "70000"],
            {"OPENTRAIL_PORT": "8790"},
            "OPENTRAIL_PORT must be between 1 and 65535, got 70000",
        ),
        ([], {"OPENTRAIL_PORT": "eighty"}, "OPENTRAIL_PORT must be a number, got 'eighty'"),
        ([], {"OPENTRAIL_RETENTION_DAYS": "0"}, "OPENTRAIL_RETENTION_DAYS must be at least 1, got 0"),
        (
            [],
            {"OPENTRAIL_HEADER_TIMEOUT": "0"},
            "OPENTRAIL_HEADER_TIMEOUT must be positive (seconds), got 0.0",
        ),
        ([], {"OPENTRAIL_MAX_CONNECTIONS": "0"}, "OPENTRAIL_MAX_CONNECTIONS must be at least 1, got 0"),
        ([], {"OPENTRAIL_ROLE": "both"}, "OPENTRAIL_ROLE must be one of all, api, worker, got 'both'"),
        (
            [],
            {"OPENTRAIL_ROOT_ACCESS_KEY_ID": "AKIAEXAMPLE"},
            "OPENTRAIL_ROOT_ACCESS_KEY_ID and OPENTRAIL_ROOT_SECRET_ACCESS_KEY must be set together",
        ),
    ],
)
def test_a_wrong_setting_stops_serve_before_it_starts(
    data_dir: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    result = opentrail("serve", "--data-dir", str(data_dir), *args, env={**UNOPENABLE, **env})
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == message
    assert not data_dir.exists()


def test_a_role_flag_outside_the_three_is_a_usage_error(data_dir: Path) -> None:
    result = opentrail("serve", "--data-dir", str(data_dir), "--role", "both", env=UNOPENABLE)
    assert result.exit_code == click.UsageError.exit_code
    assert "'both' is not one of 'all', 'api', 'worker'" in result.stderr
    assert not data_dir.exists()
