"""Accounts and their root credentials (``organizations/accounts.py``): ids and keys in AWS's forms,
the first account bootstrapped once (from the settings or generated), the credentials file written with
mode 0600 only for credentials OpenTrail generated, and the ``userIdentity`` CloudTrail records for a
root or an IAM user caller."""

from __future__ import annotations

import random
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.organizations import accounts
from opentrail.settings import Settings
from opentrail.store import AccessKey, Store
from tests.support.services import sqlite_store

NOW = 1_704_067_200.0
KEY_ID = re.compile(r"AKIA[A-Z2-7]{16}")
CONFIGURED_KEY, CONFIGURED_SECRET = "AKIACONFIGUREDKEY123", "configured-secret"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def test_account_ids_are_twelve_digits_without_a_leading_zero() -> None:
    rng = random.Random(7)
    for _ in range(200):
        account = accounts.new_account_id(rng)
        assert re.fullmatch(r"[1-9]\d{11}", account)


def test_root_keys_have_aws_forms() -> None:
    key = accounts.new_root_key("111122223333", random.Random(1), NOW)
    assert KEY_ID.fullmatch(key.access_key_id)
    assert re.fullmatch(r"[A-Za-z0-9+/]{40}", key.secret)
    assert (key.account_id, key.user_name, key.arn, key.principal_id) == (
        "111122223333",
        "root",
        "arn:aws:iam::111122223333:root",
        "111122223333",
    )
    assert (key.is_root, key.created) == (True, NOW)


def test_a_created_account_has_root_credentials_found_by_account(store: Store) -> None:
    account, key = accounts.new_account(store, FixedClock(NOW), "dev", "444455556666")
    assert (account.account_id, account.name, account.created) == ("444455556666", "dev", NOW)
    assert store.get_account("444455556666") == account
    assert store.get_access_key(key.access_key_id) == key
    assert accounts.root_key_of(store, "444455556666") == key
    assert accounts.root_key_of(store, "999999999999") is None


def test_bootstrap_makes_the_first_account_once(store: Store) -> None:
    clock = FixedClock(NOW)
    account, created = accounts.bootstrap(store, clock, rng=random.Random(3))
    assert created is not None
    assert accounts.root_key_of(store, account.account_id) == created
    again, none = accounts.bootstrap(store, clock)
    assert (again, none) == (account, None)


def test_bootstrap_adopts_configured_credentials(store: Store) -> None:
    clock = FixedClock(NOW)
    account, created = accounts.bootstrap(store, clock, "111122223333", CONFIGURED_KEY, CONFIGURED_SECRET)
    assert account.account_id == "111122223333"
    assert created is not None
    assert (created.access_key_id, created.secret) == (CONFIGURED_KEY, CONFIGURED_SECRET)
    # Credentials configured later for the same deployment are adopted as well; the account stays.
    later, added = accounts.bootstrap(store, clock, "111122223333", "AKIALATERKEY12345678", CONFIGURED_SECRET)
    assert later == account
    assert added is not None
    assert store.get_access_key("AKIALATERKEY12345678") == added
    # Once the first account is chosen, another configured id does not replace it.
    kept, _ = accounts.bootstrap(store, clock, "999999999999")
    assert kept.account_id == "111122223333"


def test_generated_credentials_are_written_0600_once(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    account_id, new = accounts.bootstrap_deployment(store, FixedClock(NOW), settings)
    assert new
    path = settings.credentials_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    key = accounts.root_key_of(store, account_id)
    assert key is not None
    assert (
        text == f"[default]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret}\n"
    )
    path.write_text("kept")
    assert accounts.bootstrap_deployment(store, FixedClock(NOW), settings) == (account_id, False)
    assert path.read_text() == "kept"  # a later start never rewrites it


def test_configured_credentials_are_never_written(store: Store, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        account_id="111122223333",
        root_access_key_id=CONFIGURED_KEY,
        root_secret_access_key=CONFIGURED_SECRET,
    )
    assert accounts.bootstrap_deployment(store, FixedClock(NOW), settings) == ("111122223333", True)
    assert not settings.credentials_file.exists()


def test_the_credentials_file_is_made_private_even_if_it_was_not(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("old")
    path.chmod(0o644)
    key = accounts.root_key("111122223333", CONFIGURED_KEY, CONFIGURED_SECRET, NOW)
    accounts.write_credentials(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "old" not in path.read_text()


def test_the_identity_of_a_root_caller() -> None:
    key = accounts.root_key("111122223333", CONFIGURED_KEY, CONFIGURED_SECRET, NOW)
    assert accounts.identity(key) == {
        "type": "Root",
        "principalId": "111122223333",
        "arn": "arn:aws:iam::111122223333:root",
        "accountId": "111122223333",
        "accessKeyId": CONFIGURED_KEY,
    }


def test_the_identity_of_an_iam_user() -> None:
    key = AccessKey(
        access_key_id="AKIAUSERKEY123456789",
        secret=CONFIGURED_SECRET,
        account_id="111122223333",
        user_name="alice",
        arn="arn:aws:iam::111122223333:user/alice",
        principal_id="AIDAEXAMPLEPRINCIPAL",
        is_root=False,
        created=NOW,
    )
    assert accounts.identity(key) == {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEPRINCIPAL",
        "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333",
        "accessKeyId": "AKIAUSERKEY123456789",
        "userName": "alice",
    }
