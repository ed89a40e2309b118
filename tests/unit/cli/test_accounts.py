"""``opentrail account`` (``cli/accounts.py``): accounts with root credentials printed once (and, on
request, written to an AWS credentials file of mode 0600 with a ``default`` profile), the credentials of
an existing account read back from the store, and grants between existing accounts."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest

from opentrail.errors import ConfigError
from opentrail.organizations import accounts
from tests.support.cli import opentrail, printed, store_of

CREDENTIALS = ["account_id", "aws_access_key_id", "aws_secret_access_key"]


def profile(path: Path) -> dict[str, str]:
    """The ``default`` profile of an AWS credentials file, as the AWS SDKs read it."""
    parser = configparser.ConfigParser()
    parser.read(path)
    return dict(parser["default"])


def test_a_new_account_comes_with_working_root_credentials(data_dir: Path) -> None:
    result = opentrail("account", "create", "--data-dir", str(data_dir), "--name", "team-b")
    assert result.exit_code == 0, result.output
    made = printed(result.stdout)
    assert list(made) == CREDENTIALS
    assert len(made["account_id"]) == 12
    assert made["account_id"].isdigit()
    with store_of(data_dir) as store:
        account = store.get_account(made["account_id"])
        key = store.get_access_key(made["aws_access_key_id"])
        bootstrap = store.get_meta(accounts.BOOTSTRAP_KEY)
    assert account is not None
    assert account.name == "team-b"
    assert key is not None
    assert (key.account_id, key.secret, key.is_root) == (
        made["account_id"],
        made["aws_secret_access_key"],
        True,
    )
    # The deployment's first account exists before any further one.
    assert bootstrap not in (None, made["account_id"])


def test_an_account_id_of_ones_choosing(data_dir: Path) -> None:
    made = printed(
        opentrail("account", "create", "--data-dir", str(data_dir), "--account-id", "210987654321").stdout
    )
    assert made["account_id"] == "210987654321"
    again = opentrail("account", "create", "--data-dir", str(data_dir), "--account-id", "210987654321")
    assert isinstance(again.exception, ConfigError)
    assert "210987654321" in str(again.exception)


@pytest.mark.parametrize("account_id", ["12345678901", "1234567890123", "12345678901x", ""])
def test_an_account_id_is_twelve_digits(data_dir: Path, account_id: str) -> None:
    result = opentrail("account", "create", "--data-dir", str(data_dir), "--account-id", account_id)
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == f"--account-id must be 12 digits, got {account_id!r}"
    assert not data_dir.exists()  # refused before the data directory is opened


def test_credentials_are_written_to_a_file_only_its_owner_reads(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "team-b" / "credentials"
    made = printed(
        opentrail("account", "create", "--data-dir", str(data_dir), "--credentials-file", str(path)).stdout
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert profile(path) == {
        "aws_access_key_id": made["aws_access_key_id"],
        "aws_secret_access_key": made["aws_secret_access_key"],
    }


def test_the_credentials_of_an_account_are_read_back_from_the_store(data_dir: Path, tmp_path: Path) -> None:
    made = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)
    path = tmp_path / "again"
    result = opentrail(
        "account",
        "credentials",
        "--data-dir",
        str(data_dir),
        "--credentials-file",
        str(path),
        made["account_id"],
    )
    assert result.exit_code == 0, result.output
    assert printed(result.stdout) == made
    assert profile(path) == {name: made[name] for name in CREDENTIALS[1:]}


def test_credentials_of_no_known_account(data_dir: Path) -> None:
    opentrail("migrate", "--data-dir", str(data_dir))
    result = opentrail("account", "credentials", "--data-dir", str(data_dir), "999999999999")
    assert isinstance(result.exception, ConfigError)
    assert "no root credentials of account 999999999999" in str(result.exception)
    assert "`opentrail account credentials 999999999999` with the server's data directory" in str(
        result.exception
    )
    malformed = opentrail("account", "credentials", "--data-dir", str(data_dir), "9999")
    assert str(malformed.exception) == "ACCOUNT_ID must be 12 digits, got '9999'"


def test_a_grant_lets_one_account_write_into_another(data_dir: Path) -> None:
    grantee = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)["account_id"]
    target = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)["account_id"]
    result = opentrail(
        "account", "grant", "--data-dir", str(data_dir), "--grantee", grantee, "--target", target
    )
    assert result.stdout == f"account {grantee} may now write events for account {target}\n"
    with store_of(data_dir) as store:
        assert store.has_grant(grantee, target)
        assert not store.has_grant(target, grantee)


@pytest.mark.parametrize("missing", ["grantee", "target"])
def test_a_grant_needs_both_accounts(data_dir: Path, missing: str) -> None:
    known = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)["account_id"]
    pair = {"grantee": known, "target": known, missing: "999999999999"}
    result = opentrail(
        "account",
        "grant",
        "--data-dir",
        str(data_dir),
        "--grantee",
        pair["grantee"],
        "--target",
        pair["target"],
    )
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "account 999999999999 does not exist"
    with store_of(data_dir) as store:
        assert not store.has_grant(pair["grantee"], pair["target"])
