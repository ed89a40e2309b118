"""Accounts and their root credentials: the bootstrap account, further accounts, the credentials file."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path
from typing import Any, Protocol

from opentrail.clock import Clock
from opentrail.settings import Settings
from opentrail.store import AccessKey, Account, Store

BOOTSTRAP_KEY = "bootstrap_account"
# Meta key naming an account's root access key: the Store looks keys up by id only, and
# ``opentrail account credentials`` must find an account's (an organization member's, say) by account.
ROOT_KEY_PREFIX = "root_access_key:"
_KEY_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


class Random(Protocol):
    def choice(self, seq: str) -> str: ...


def _draw(rng: Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def new_account_id(rng: Random) -> str:
    return rng.choice("123456789") + _draw(rng, string.digits, 11)


def root_key(account_id: str, access_key_id: str, secret: str, now: float) -> AccessKey:
    return AccessKey(
        access_key_id=access_key_id,
        secret=secret,
        account_id=account_id,
        user_name="root",
        arn=f"arn:aws:iam::{account_id}:root",
        principal_id=account_id,
        is_root=True,
        created=now,
    )


def new_root_key(account_id: str, rng: Random, now: float) -> AccessKey:
    return root_key(account_id, "AKIA" + _draw(rng, _KEY_ALPHABET, 16), _draw(rng, _SECRET_ALPHABET, 40), now)


def new_account(
    store: Store,
    clock: Clock,
    name: str,
    account_id: str | None = None,
    rng: Random | None = None,
) -> tuple[Account, AccessKey]:
    """Create an account with root credentials; the secret is returned once and never again."""
    rng = rng or secrets.SystemRandom()
    now = clock.now()
    account = Account(account_id or new_account_id(rng), name, now)
    store.add_account(account)
    key = new_root_key(account.account_id, rng, now)
    store.add_access_key(key)
    remember_root_key(store, key)
    return account, key


def remember_root_key(store: Store, key: AccessKey) -> None:
    store.set_meta_default(ROOT_KEY_PREFIX + key.account_id, key.access_key_id)


def root_key_of(store: Store, account_id: str) -> AccessKey | None:
    """The root credentials of ``account_id`` (None for an account made before they were recorded)."""
    access_key_id = store.get_meta(ROOT_KEY_PREFIX + account_id)
    return None if access_key_id is None else store.get_access_key(access_key_id)


def bootstrap(
    store: Store,
    clock: Clock,
    account_id: str = "",
    access_key_id: str = "",
    secret: str = "",
    rng: Random | None = None,
) -> tuple[Account, AccessKey | None]:
    """Make sure the first account exists. Returns it, plus root credentials created or adopted now
    (``None`` when they already existed from an earlier start)."""
    rng = rng or secrets.SystemRandom()
    chosen = store.set_meta_default(BOOTSTRAP_KEY, account_id or new_account_id(rng))
    account = store.get_account(chosen)
    created: AccessKey | None = None
    if account is None:
        account = Account(chosen, "bootstrap", clock.now())
        store.add_account(account)
        created = (
            root_key(chosen, access_key_id, secret, clock.now())
            if access_key_id
            else new_root_key(chosen, rng, clock.now())
        )
        store.add_access_key(created)
        remember_root_key(store, created)
    elif access_key_id and store.get_access_key(access_key_id) is None:
        created = root_key(chosen, access_key_id, secret, clock.now())
        store.add_access_key(created)
        remember_root_key(store, created)
    return account, created


def bootstrap_deployment(store: Store, clock: Clock, settings: Settings) -> tuple[str, bool]:
    """The deployment's first account, as the settings name it (OPENTRAIL_ACCOUNT_ID and root
    credentials, else generated once). Generated credentials are written to the credentials file when
    they are new. Returns the account id and whether credentials were created or adopted now."""
    account, created = bootstrap(
        store, clock, settings.account_id, settings.root_access_key_id, settings.root_secret_access_key
    )
    if created is not None and not settings.root_access_key_id:
        write_credentials(settings.credentials_file, created)
    return account.account_id, created is not None


def write_credentials(path: Path, key: AccessKey) -> None:
    """Write an AWS credentials file (mode 0600) with a ``default`` profile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"[default]\naws_access_key_id = {key.access_key_id}\naws_secret_access_key = {key.secret}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def identity(key: AccessKey) -> dict[str, Any]:
    """The ``userIdentity`` block CloudTrail records for a caller using ``key``."""
    if key.is_root:
        return {
            "type": "Root",
            "principalId": key.account_id,
            "arn": key.arn,
            "accountId": key.account_id,
            "accessKeyId": key.access_key_id,
        }
    return {
        "type": "IAMUser",
        "principalId": key.principal_id,
        "arn": key.arn,
        "accountId": key.account_id,
        "accessKeyId": key.access_key_id,
        "userName": key.user_name,
    }
