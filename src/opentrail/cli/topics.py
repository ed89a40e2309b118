"""``opentrail topic``: the topics trails notify (local commands: they open the data directory)."""

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
from opentrail.clock import SystemClock
from opentrail.context import random_id
from opentrail.delivery import topics
from opentrail.errors import ConfigError

topic_region_option = click.option(
    "--region", default=topics.DEFAULT_REGION, show_default=True, help="Region of the topic."
)


@click.group()
def topic() -> None:
    """Topics that trails notify after each delivered log file (SNS's role)."""


@topic.command("create")
@data_dir_option
@account_option
@topic_region_option
@click.option("--url", required=True, help="HTTP(S) endpoint that receives the notifications.")
@click.argument("name")
def topic_create(data_dir: str | None, account_id: str | None, region: str, url: str, name: str) -> None:
    """Create topic NAME; each notification is POSTed to URL as an SNS Notification."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        owner = account_id or bootstrap_account(store, settings)
        if store.get_account(owner) is None:
            raise ConfigError(f"account {owner} does not exist")
        created = topics.create(store, owner, region, name, url, SystemClock().now(), random_id())
    out().print(created.arn, markup=False, highlight=False)


@topic.command("list")
@data_dir_option
@click.option("--account", "account_id", default=None, help="Only this account's topics [all].")
def topic_list(data_dir: str | None, account_id: str | None) -> None:
    """List topics: ARN and endpoint URL, one a line."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        found = topics.list_topics(store, account_id)
    for item in found:
        click.echo(f"{item.arn}\t{item.url}")


@topic.command("delete")
@data_dir_option
@account_option
@topic_region_option
@click.argument("name")
def topic_delete(data_dir: str | None, account_id: str | None, region: str, name: str) -> None:
    """Delete topic NAME; trails that name it get a NotFound notification error until changed."""
    settings = local_settings(data_dir)
    with local_store(settings) as store:
        owner = account_id or bootstrap_account(store, settings)
        topics.delete(store, owner, region, name)
    out().print(f"topic {topics.topic_arn(region, owner, name)} deleted", markup=False, highlight=False)
