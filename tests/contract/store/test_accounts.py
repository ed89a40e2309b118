"""Accounts, access keys, cross-account grants and bucket owners: what the store keeps of who is who."""

from __future__ import annotations

import pytest

from opentrail.errors import ConflictError
from opentrail.store import AccessKey, Account, Store
from tests.support.store import ACCOUNT, OTHER, key


def test_accounts_round_trip(store: Store) -> None:
    first = Account(ACCOUNT, "first", 1714564800.25)
    second = Account("012345678901", "zero-led ✓", 1714564801.0)
    store.add_account(first)
    store.add_account(second)
    assert store.get_account(ACCOUNT) == first
    assert store.get_account("012345678901") == second
    assert store.get_account("999999999999") is None
    assert sorted(store.list_accounts(), key=lambda a: a.account_id) == [second, first]


def test_accounts_are_listed_oldest_first_and_ties_by_account_id(store: Store) -> None:
    accounts = [
        Account("333333333333", "c", 2.0),
        Account("222222222222", "b", 1.0),
        Account("000000000009", "z", 1.0),
        Account("111111111111", "a", 1.0),
        Account("444444444444", "d", 0.5),
    ]
    for account in accounts:  # ties added out of id order: the order must not be the insertion order
        store.add_account(account)
    assert store.list_accounts() == sorted(accounts, key=lambda a: (a.created, a.account_id))


def test_duplicate_account_is_a_conflict(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "first", 1.0))
    with pytest.raises(ConflictError, match=ACCOUNT):
        store.add_account(Account(ACCOUNT, "again", 2.0))
    assert store.get_account(ACCOUNT) == Account(ACCOUNT, "first", 1.0)


def test_access_keys_round_trip(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "a", 1.0))
    root = key("AKIAROOT0000000000001")
    user = AccessKey(
        "AKIAUSER0000000000001",
        "x",
        ACCOUNT,
        "alice",
        f"arn:aws:iam::{ACCOUNT}:user/alice",
        "AIDA1",
        False,
        2.0,
    )
    store.add_access_key(root)
    store.add_access_key(user)
    assert store.get_access_key(root.access_key_id) == root
    assert store.get_access_key(user.access_key_id) == user
    assert store.get_access_key("AKIAUNKNOWN") is None


def test_duplicate_access_key_is_a_conflict(store: Store) -> None:
    store.add_account(Account(ACCOUNT, "a", 1.0))
    store.add_access_key(key("AKIADUP"))
    with pytest.raises(ConflictError):
        store.add_access_key(AccessKey("AKIADUP", "other", ACCOUNT, "bob", "arn:b", "AIDB", False, 3.0))
    assert store.get_access_key("AKIADUP") == key("AKIADUP")


def test_grants_are_directional_and_idempotent(store: Store) -> None:
    assert not store.has_grant(ACCOUNT, OTHER)
    store.add_grant(ACCOUNT, OTHER)
    store.add_grant(ACCOUNT, OTHER)  # granting twice is not an error: the grant simply holds
    assert store.has_grant(ACCOUNT, OTHER)
    assert not store.has_grant(OTHER, ACCOUNT)


def test_buckets_have_one_owner(store: Store) -> None:
    assert store.bucket_owner("logs") is None
    store.add_bucket("logs", ACCOUNT)
    assert store.bucket_owner("logs") == ACCOUNT
    with pytest.raises(ConflictError, match="logs"):
        store.add_bucket("logs", OTHER)
    assert store.bucket_owner("logs") == ACCOUNT


def test_a_removed_buckets_name_is_free_again(store: Store) -> None:
    store.add_bucket("logs", ACCOUNT)
    store.remove_bucket("logs")
    assert store.bucket_owner("logs") is None
    store.add_bucket("logs", OTHER)
    assert store.bucket_owner("logs") == OTHER
    store.remove_bucket("never-recorded")  # forgetting what was never recorded is no error
