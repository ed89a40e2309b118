"""What the commands share (``cli/common.py``): how a command ends on an error (one line naming what was
wrong and a pointer to the docs, exit 2; 1 when aborted; click's own code for usage errors, as
docs/cli.md says), account ids of 12 digits, ``name = value`` lines printed as they are, the data
directory's store, its bootstrap account, and the signing region of a client command."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import click
import pytest

from opentrail.cli import common
from opentrail.errors import ConfigError, RemoteError, StoreError
from opentrail.ingest.records import index_record
from opentrail.organizations import accounts
from tests.support.store import record

REMEDY = "see `opentrail --help`, or the settings listed in docs/settings.md\n"


def command(action: Callable[[], None]) -> click.Command:
    """A command that runs ``action``, as every command runs its body."""
    return click.Command("probe", callback=action)


def ended(
    capsys: pytest.CaptureFixture[str], action: Callable[[], None]
) -> tuple[int | str | None, str, str]:
    """How ``run_command`` ends a command that runs ``action``: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as done:
        common.run_command(command(action), [], prog_name="opentrail probe")
    out, err = capsys.readouterr()
    return done.value.code, out, err


def raising(exc: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise exc

    return action


def test_an_error_ends_with_one_line_and_a_remedy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = ended(capsys, raising(ConfigError("OPENTRAIL_PORT must be between 1 and 65535, got 0")))
    assert (code, out) == (2, "")
    assert err == "error: OPENTRAIL_PORT must be between 1 and 65535, got 0\n" + REMEDY
    code, _, err = ended(capsys, raising(StoreError("reading the SQLite store failed: disk I/O error")))
    assert code == 2
    assert err.startswith("error: reading the SQLite store failed: disk I/O error\n")


@pytest.mark.parametrize(
    ("code", "message", "remedy"),
    [
        (
            "S3BucketDoesNotExistException",
            "S3 bucket trail-logs does not exist!",
            "create the bucket with `opentrail bucket create [--account ID] NAME`, or name a bucket that "
            "exists",
        ),
        (
            "InsufficientSnsTopicPolicyException",
            "SNS Topic does not exist or the topic policy is incorrect!",
            "create the topic in this account and region with `opentrail topic create NAME --url URL`, or "
            "name a topic that exists",
        ),
    ],
)
def test_a_server_error_is_printed_as_answered_with_the_remedy_for_its_code(
    capsys: pytest.CaptureFixture[str], code: str, message: str, remedy: str
) -> None:
    """The API answers AWS's own text; the remedy OpenTrail adds is the CLI's line under it."""
    exit_code, out, err = ended(capsys, raising(RemoteError(400, code, message)))
    assert (exit_code, out) == (2, "")
    assert err == f"error: {code}: {message}\n{remedy}\n"


def test_a_server_error_without_a_remedy_of_its_own_gets_the_general_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, err = ended(
        capsys, raising(RemoteError(400, "InvalidMaxResultsException", "MaxResults must be..."))
    )
    assert err == "error: InvalidMaxResultsException: MaxResults must be...\n" + REMEDY


@pytest.mark.parametrize("exc", [click.exceptions.Abort(), KeyboardInterrupt()])
def test_an_aborted_command_exits_1(capsys: pytest.CaptureFixture[str], exc: BaseException) -> None:
    code, out, err = ended(capsys, raising(exc))
    assert code == 1
    assert out == ""
    assert err.strip().endswith("aborted")


def test_click_errors_keep_clicks_exit_code_and_words(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = ended(capsys, raising(click.UsageError("Missing option '--url'.")))
    assert code == 2
    assert "Error: Missing option '--url'." in err
    code, _, err = ended(capsys, raising(click.ClickException("no such file")))
    assert (code, err) == (1, "Error: no such file\n")


def test_a_command_that_succeeds_returns(capsys: pytest.CaptureFixture[str]) -> None:
    assert common.run_command(command(lambda: common.show({"account_id": "123456789012"})), []) is None
    assert capsys.readouterr().out == "account_id = 123456789012\n"


@pytest.mark.parametrize("value", ["x[a]y", "x[/]y"])
def test_an_error_names_the_value_as_it_was_given(capsys: pytest.CaptureFixture[str], value: str) -> None:
    code, _, err = ended(capsys, raising(ConfigError(f"account {value} does not exist")))
    assert (code, err) == (2, f"error: account {value} does not exist\n" + REMEDY)


def test_values_are_printed_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    common.show({"name": "[bold]team[/bold]", "arn": "arn:aws:iam::123456789012:root"})
    assert capsys.readouterr().out == "name = [bold]team[/bold]\narn = arn:aws:iam::123456789012:root\n"


@pytest.mark.parametrize("value", ["12345678901", "1234567890123", "12345678901a", "-12345678901", ""])
def test_an_account_id_is_twelve_digits(value: str) -> None:
    common.check_account_id("123456789012", "123456789012")
    with pytest.raises(ConfigError) as refused:
        common.check_account_id("--account-id", value)
    assert str(refused.value) == f"--account-id must be 12 digits, got {value!r}"


def test_an_account_id_is_ascii_digits() -> None:
    with pytest.raises(ConfigError):
        common.check_account_id("--account-id", "\uff11" * 12)


def test_the_data_directorys_store_is_made_migrated_and_closed(tmp_path: Path) -> None:
    settings = common.local_settings(str(tmp_path / "new" / "data"))
    with common.local_store(settings) as store:
        assert store.get_meta("anything") is None  # a schema is there to read
        store.append([index_record(record("e1"), "111111111111")])
    assert (tmp_path / "new" / "data" / "opentrail.db").is_file()
    with pytest.raises(StoreError, match="closed"):
        store.append([index_record(record("e2"), "111111111111")])


def test_the_store_is_closed_when_the_command_fails(tmp_path: Path) -> None:
    settings = common.local_settings(str(tmp_path))
    with pytest.raises(ConfigError), common.local_store(settings) as store:
        raise ConfigError("the command failed")
    with pytest.raises(StoreError, match="closed"):
        store.append([index_record(record("e1"), "111111111111")])


def test_local_settings_take_flags_over_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENTRAIL_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("OPENTRAIL_PORT", "8791")
    settings = common.local_settings(None, port=None, host="192.0.2.7")
    assert (settings.data_dir, settings.port, settings.host) == (tmp_path / "from-env", 8791, "192.0.2.7")
    assert common.local_settings(str(tmp_path / "flag"), port=9000).port == 9000
    assert common.local_settings(str(tmp_path / "flag")).data_dir == tmp_path / "flag"


def test_the_bootstrap_account_is_made_once_with_its_credentials_file(tmp_path: Path) -> None:
    settings = common.local_settings(str(tmp_path))
    with common.local_store(settings) as store:
        first = common.bootstrap_account(store, settings)
        written = settings.credentials_file.read_text()
        assert common.bootstrap_account(store, settings) == first
        key = accounts.root_key_of(store, first)
    assert key is not None
    assert settings.credentials_file.read_text() == written
    assert f"aws_access_key_id = {key.access_key_id}\n" in written
    assert stat.S_IMODE(os.stat(settings.credentials_file).st_mode) == 0o600


def test_the_bootstrap_account_is_the_one_the_settings_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENTRAIL_ACCOUNT_ID", "210987654321")
    settings = common.local_settings(str(tmp_path))
    with common.local_store(settings) as store:
        assert common.bootstrap_account(store, settings) == "210987654321"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Credentials in the environment and an AWS config file of the test's own (empty until written)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config = tmp_path / "aws-config"
    config.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials-file"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    return config


def test_a_client_signs_for_the_flags_region_else_the_configured_one_else_us_east_1(aws: Path) -> None:
    with common.remote_client(None, "http://127.0.0.1:9", None) as conn:
        assert conn.region == "us-east-1"
    aws.write_text("[default]\nregion = eu-central-1\n")
    with common.remote_client(None, "http://127.0.0.1:9", None) as conn:
        assert (conn.region, conn.endpoint) == ("eu-central-1", "http://127.0.0.1:9")
    with common.remote_client(None, "http://127.0.0.1:9", "ap-south-1") as conn:
        assert conn.region == "ap-south-1"


def test_an_aws_configuration_that_cannot_be_read_is_a_config_error(
    aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    with (
        pytest.raises(ConfigError, match=r"^cannot read the AWS configuration: .*no-such-profile"),
        common.remote_client(None, "http://127.0.0.1:9", None),
    ):
        pass
