"""``opentrail bucket``: buckets in the local bucket store (a local command: it opens the data directory)."""

from __future__ import annotations

import click

from opentrail.cli.common import (
    account_option,
    bootstrap_account,
    data_dir_option,
    local_settings,
    local_store,
    out,
)
from opentrail.errors import ConfigError
from opentrail.storage import BucketExists, InvalidBucketName, open_storage


@click.group()
def bucket() -> None:
    """Buckets in the local bucket store."""


@bucket.command("create")
@data_dir_option
@account_option
@click.argument("name")
def bucket_create(data_dir: str | None, account_id: str | None, name: str) -> None:
    """Create bucket NAME so trails can deliver to it."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        owner = account_id or bootstrap_account(store, settings)
        if store.get_account(owner) is None:
            raise ConfigError(f"account {owner} does not exist")
        storage = open_storage(settings.storage)
        try:
            storage.create_bucket(name)
        except (InvalidBucketName, BucketExists) as exc:
            raise ConfigError(str(exc)) from None
        store.add_bucket(name, owner)
    out().print(f"bucket {name} created for account {owner}")
