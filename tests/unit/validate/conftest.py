"""Digest chains in a local bucket store, signed with a key of the session's own: what the validator's
in-process tests read (``tests.support.chains`` writes them with delivery's format modules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from opentrail.delivery.signing import SigningKey
from opentrail.storage import LocalStorage
from tests.support.chains import Builder, Chains, scenarios, signing_key


@pytest.fixture(scope="session")
def key() -> SigningKey:
    return signing_key()


@pytest.fixture(scope="session")
def chains(key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Chains:
    storage = LocalStorage(Path(tmp_path_factory.mktemp("chains")))
    return storage, scenarios(Builder(storage, key))
