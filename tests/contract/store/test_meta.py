"""The store's meta values: absent until set, the first value set wins, kept across reopening."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from opentrail.store import Store
from tests.support.databases import Backend


def test_meta_is_absent_until_set(store: Store) -> None:
    assert store.get_meta("token_secret") is None


def test_set_meta_default_keeps_the_first_value_and_returns_the_winner(store: Store) -> None:
    assert store.set_meta_default("k", "first") == "first"
    assert store.set_meta_default("k", "second") == "first"
    assert store.get_meta("k") == "first"
    assert store.set_meta_default("other", "x") == "x"


def test_concurrent_meta_defaults_agree_on_one_winner(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        winners = set(pool.map(lambda i: store.set_meta_default("race", f"v{i}"), range(32)))
    assert len(winners) == 1
    assert store.get_meta("race") in winners


def test_meta_survives_reopening(backend: Backend, store: Store) -> None:
    store.set_meta_default("k", "v")
    assert backend.reopen(store).get_meta("k") == "v"
