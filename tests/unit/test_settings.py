"""Settings (``settings.py``): ``from_env`` reads every ``OPENTRAIL_*`` variable with its field's type,
flags override the environment, and ``check`` refuses each wrong value with a message naming the
variable, what was expected and what was given."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from opentrail.errors import ConfigError
from opentrail.settings import Settings


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.host, settings.port, settings.role) == ("127.0.0.1", 8790, "all")
    assert settings.endpoint == "http://127.0.0.1:8790"


def test_every_field_has_its_variable_and_type() -> None:
    env = {
        "OPENTRAIL_DATA_DIR": "/srv/trail",
        "OPENTRAIL_HOST": "0.0.0.0",  # noqa: S104 - a value read back, nothing listens on it
        "OPENTRAIL_PORT": "9000",
        "OPENTRAIL_DATABASE_URL": "postgresql://db/ot",
        "OPENTRAIL_STORAGE_URL": "s3://",
        "OPENTRAIL_ACCOUNT_ID": "111122223333",
        "OPENTRAIL_ROOT_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "OPENTRAIL_ROOT_SECRET_ACCESS_KEY": "secret",
        "OPENTRAIL_DELIVERY_INTERVAL": "2.5",
        "OPENTRAIL_DIGEST_INTERVAL": "60",
        "OPENTRAIL_RETENTION_DAYS": "7",
        "OPENTRAIL_NOTIFICATION_RETRY_DELAY": "0",
        "OPENTRAIL_NOTIFICATION_MAX_AGE": "600",
        "OPENTRAIL_SNS": "on",
        "OPENTRAIL_SNS_PROFILE": "notifier",
        "OPENTRAIL_SNS_TIMEOUT": "2.5",
        "OPENTRAIL_LOOKUP_RATE": "2",
        "OPENTRAIL_MAX_BODY_BYTES": "1024",
        "OPENTRAIL_MAX_INFLIGHT_BODY_BYTES": "4096",
        "OPENTRAIL_SPOOL_THRESHOLD_BYTES": "0",
        "OPENTRAIL_LOG_LEVEL": "debug",
        "OPENTRAIL_NODE_ID": "node-a",
        "OPENTRAIL_LEASE_SECONDS": "5",
        "OPENTRAIL_ROLE": "worker",
        "OPENTRAIL_HEADER_TIMEOUT": "1.5",
        "OPENTRAIL_KEEP_ALIVE_TIMEOUT": "75",
        "OPENTRAIL_BODY_TIMEOUT": "30",
        "OPENTRAIL_BODY_MIN_RATE": "0",
        "OPENTRAIL_MAX_CONNECTIONS": "4000",
        "OPENTRAIL_MULTIPART_QUOTA_BYTES": "10485760",
        "OPENTRAIL_MULTIPART_EXPIRY_SECONDS": "86400",
        "OPENTRAIL_METRIC_RETENTION_DAYS": "3",
        "OPENTRAIL_FORWARD_LOGS_URL": "http://127.0.0.1:4566",
        "OPENTRAIL_FORWARD_LOGS_PROFILE": "forwarder",
    }
    names = {f"OPENTRAIL_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    assert set(env) == names  # a new setting gets a line here
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/srv/trail")
    assert (settings.port, type(settings.port)) == (9000, int)
    assert (settings.delivery_interval, type(settings.delivery_interval)) == (2.5, float)
    assert (settings.digest_interval, type(settings.digest_interval)) == (60.0, float)
    assert (settings.retention_days, settings.max_body_bytes) == (7, 1024)
    assert (settings.max_inflight_body_bytes, settings.spool_threshold_bytes) == (4096, 0)
    assert (settings.lookup_rate, settings.lease_seconds) == (2.0, 5.0)
    assert settings.notification_retry_delay == 0.0
    assert (settings.multipart_quota_bytes, settings.multipart_expiry_seconds) == (10485760, 86400.0)
    assert (settings.notification_max_age, type(settings.notification_max_age)) == (600.0, float)
    assert (settings.sns, settings.sns_profile, settings.sns_timeout) == ("on", "notifier", 2.5)
    assert (settings.account_id, settings.node_id, settings.role) == ("111122223333", "node-a", "worker")
    assert settings.database == "postgresql://db/ot"
    assert settings.storage == "s3://"
    assert (settings.serves_api, settings.runs_workers) == (False, True)
    assert (settings.header_timeout, type(settings.header_timeout)) == (1.5, float)
    assert (settings.keep_alive_timeout, settings.body_timeout) == (75.0, 30.0)
    assert (settings.body_min_rate, settings.max_connections) == (0, 4000)
    assert (settings.forward_logs_url, settings.forward_logs_profile) == (
        "http://127.0.0.1:4566",
        "forwarder",
    )


def test_an_empty_variable_is_unset() -> None:
    assert Settings.from_env({"OPENTRAIL_PORT": ""}).port == 8790


def test_flags_override_the_environment_and_none_is_no_flag() -> None:
    settings = Settings.from_env({"OPENTRAIL_PORT": "9000", "OPENTRAIL_HOST": "h"}, port=9001, host=None)
    assert (settings.port, settings.host) == (9001, "h")
    assert Settings.from_env({}, data_dir="rel/dir").data_dir == Path("rel/dir")


def test_derived_paths_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database == f"sqlite:///{tmp_path.resolve() / 'opentrail.db'}"
    assert settings.storage == f"file://{tmp_path.resolve() / 'buckets'}"
    assert settings.credentials_file == tmp_path / "credentials"


@pytest.mark.parametrize(("role", "api", "workers"), [("all", True, True), ("api", True, False)])
def test_roles(role: str, api: bool, workers: bool) -> None:
    settings = Settings(role=role)
    assert (settings.serves_api, settings.runs_workers) == (api, workers)


@pytest.mark.parametrize("name", ["PORT", "DELIVERY_INTERVAL", "RETENTION_DAYS", "LEASE_SECONDS"])
def test_a_number_that_is_not_one_is_named(name: str) -> None:
    with pytest.raises(ConfigError, match=f"OPENTRAIL_{name} must be a number, got 'soon'"):
        Settings.from_env({f"OPENTRAIL_{name}": "soon"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": 0}, "OPENTRAIL_PORT must be between 1 and 65535, got 0"),
        ({"port": 65536}, "OPENTRAIL_PORT must be between 1 and 65535, got 65536"),
        ({"delivery_interval": 0.0}, "OPENTRAIL_DELIVERY_INTERVAL must be positive, got 0.0"),
        ({"digest_interval": -1.0}, "OPENTRAIL_DIGEST_INTERVAL must be positive, got -1.0"),
        ({"notification_retry_delay": -0.5}, "OPENTRAIL_NOTIFICATION_RETRY_DELAY must be 0 or positive"),
        ({"retention_days": 0}, "OPENTRAIL_RETENTION_DAYS must be at least 1, got 0"),
        ({"lookup_rate": -1.0}, r"OPENTRAIL_LOOKUP_RATE must be 0 \(no limit\) or positive, got -1.0"),
        ({"lease_seconds": 0.0}, "OPENTRAIL_LEASE_SECONDS must be positive, got 0.0"),
        ({"header_timeout": 0.0}, r"OPENTRAIL_HEADER_TIMEOUT must be positive \(seconds\), got 0.0"),
        (
            {"keep_alive_timeout": -1.0},
            r"OPENTRAIL_KEEP_ALIVE_TIMEOUT must be positive \(seconds\), got -1.0",
        ),
        ({"body_timeout": 0.0}, r"OPENTRAIL_BODY_TIMEOUT must be positive \(seconds\), got 0.0"),
        (
            {"body_min_rate": -1},
            r"OPENTRAIL_BODY_MIN_RATE must be 0 \(no minimum\) or positive \(bytes/s\), got -1",
        ),
        ({"max_connections": 0}, "OPENTRAIL_MAX_CONNECTIONS must be at least 1, got 0"),
        ({"multipart_quota_bytes": 0}, "OPENTRAIL_MULTIPART_QUOTA_BYTES must be positive, got 0"),
        ({"multipart_expiry_seconds": 0.0}, "OPENTRAIL_MULTIPART_EXPIRY_SECONDS must be positive, got 0.0"),
        (
            {"notification_max_age": 0.0},
            r"OPENTRAIL_NOTIFICATION_MAX_AGE must be positive \(seconds\), got 0.0",
        ),
        ({"sns": "yes"}, "OPENTRAIL_SNS must be one of auto, on, off, got 'yes'"),
        ({"sns_timeout": 0.0}, "OPENTRAIL_SNS_TIMEOUT must be more than 0 and at most 300 seconds, got 0.0"),
        ({"sns_timeout": 301.0}, "OPENTRAIL_SNS_TIMEOUT must be more than 0 and at most 300 seconds"),
        ({"role": "both"}, "OPENTRAIL_ROLE must be one of all, api, worker, got 'both'"),
        ({"account_id": "12345"}, "OPENTRAIL_ACCOUNT_ID must be 12 digits, got '12345'"),
        ({"account_id": "11112222333x"}, "OPENTRAIL_ACCOUNT_ID must be 12 digits"),
        ({"root_access_key_id": "AKIAEXAMPLE"}, "must be set together"),
        ({"root_secret_access_key": "secret"}, "must be set together"),
        ({"max_body_bytes": 0}, "OPENTRAIL_MAX_BODY_BYTES must be positive, got 0"),
        (
            {"max_inflight_body_bytes": 1000},
            r"OPENTRAIL_MAX_INFLIGHT_BODY_BYTES must be at least OPENTRAIL_MAX_BODY_BYTES \(10485760\)",
        ),
        ({"spool_threshold_bytes": -1}, "OPENTRAIL_SPOOL_THRESHOLD_BYTES must be 0 or positive, got -1"),
    ],
)
def test_check_refuses_each_wrong_value(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(**changes).check()
    # from_env checks what it read, so a wrong variable never makes a Settings.
    env = {f"OPENTRAIL_{name.upper()}": str(value) for name, value in changes.items()}
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_the_edges_of_each_range_are_accepted() -> None:
    Settings(
        port=65535,
        notification_retry_delay=0.0,
        retention_days=1,
        lookup_rate=0.0,
        sns_timeout=300.0,
        account_id="000000000000",
        root_access_key_id="AKIAEXAMPLE",
        root_secret_access_key="secret",  # noqa: S106 - a test's credential, used nowhere
        body_min_rate=0,
        max_connections=1,
    ).check()
    Settings(port=1).check()
