"""``opentrail bucket create`` (``cli/buckets.py``): a bucket in the deployment's bucket store (the local
one, or S3 with ``OPENTRAIL_STORAGE_URL=s3://``), owned by the bootstrap account unless ``--account``
names another existing account; S3's naming rules and a taken name are errors in the CLI's words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opentrail.errors import ConfigError
from opentrail.organizations import accounts
from opentrail.storage.s3 import S3Storage
from tests.support.cli import opentrail, printed, store_of
from tests.support.storage import FAKE_CREDENTIALS, reset_moto, s3_storage


@pytest.fixture
def s3(moto_endpoint: str) -> S3Storage:
    reset_moto(moto_endpoint)
    return s3_storage(moto_endpoint)


def test_cli_bucket_create_on_s3(tmp_path: Path, s3: S3Storage, moto_endpoint: str) -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("AWS_", "OPENTRAIL_"))}
    env.update(
        OPENTRAIL_DATA_DIR=str(tmp_path),
        OPENTRAIL_STORAGE_URL="s3://",
        AWS_ENDPOINT_URL_S3=moto_endpoint,
        AWS_ACCESS_KEY_ID=FAKE_CREDENTIALS["aws_access_key_id"],
        AWS_SECRET_ACCESS_KEY=FAKE_CREDENTIALS["aws_secret_access_key"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    first = opentrail("bucket", "create", "cli-bucket", env=env)
    assert first.exit_code == 0, first.output
    assert s3.bucket_exists("cli-bucket")


def test_a_bucket_belongs_to_the_bootstrap_account_by_default(data_dir: Path) -> None:
    result = opentrail("bucket", "create", "--data-dir", str(data_dir), "trail-logs")
    assert result.exit_code == 0, result.output
    with store_of(data_dir) as store:
        bootstrap = store.get_meta(accounts.BOOTSTRAP_KEY)
        assert bootstrap is not None
        assert store.bucket_owner("trail-logs") == bootstrap
    assert result.stdout == f"bucket trail-logs created for account {bootstrap}\n"
    assert (data_dir / "buckets" / "trail-logs").is_dir()
    # The bootstrap account was made on the way, with its credentials file.
    assert (data_dir / "credentials").is_file()


def test_a_bucket_for_another_account(data_dir: Path) -> None:
    made = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)
    owner = made["account_id"]
    result = opentrail("bucket", "create", "--data-dir", str(data_dir), "--account", owner, "team-logs")
    assert result.stdout == f"bucket team-logs created for account {owner}\n"
    with store_of(data_dir) as store:
        assert store.bucket_owner("team-logs") == owner


def test_an_account_that_does_not_exist_gets_no_bucket(data_dir: Path) -> None:
    result = opentrail("bucket", "create", "--data-dir", str(data_dir), "--account", "999999999999", "orphan")
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "account 999999999999 does not exist"
    assert not (data_dir / "buckets" / "orphan").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Upper_Case", "bucket name 'Upper_Case' must be 3-63 characters of lowercase letters"),
        ("192.168.1.1", "must not be formatted as an IP address"),
    ],
)
def test_a_name_s3_would_refuse_is_a_config_error(data_dir: Path, name: str, message: str) -> None:
    result = opentrail("bucket", "create", "--data-dir", str(data_dir), name)
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)
    with store_of(data_dir) as store:
        assert store.bucket_owner(name) is None


def test_a_taken_name_is_a_config_error_and_keeps_its_owner(data_dir: Path) -> None:
    assert opentrail("bucket", "create", "--data-dir", str(data_dir), "taken").exit_code == 0
    made = printed(opentrail("account", "create", "--data-dir", str(data_dir)).stdout)
    result = opentrail(
        "bucket", "create", "--data-dir", str(data_dir), "--account", made["account_id"], "taken"
    )
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "bucket taken already exists"
    with store_of(data_dir) as store:
        assert store.bucket_owner("taken") == store.get_meta(accounts.BOOTSTRAP_KEY)
