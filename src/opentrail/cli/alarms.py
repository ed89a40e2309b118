"""``opentrail alarms``: CloudWatch alarms on a trail's log group (a client command: it calls the server's
CloudWatch Logs and CloudWatch APIs, as the AWS CLI would)."""

from __future__ import annotations

import json
from typing import Any

import click

from opentrail.cli.common import data_dir_option, endpoint_option, out, region_option, remote_client
from opentrail.client.remote import Client
from opentrail.errors import ConfigError
from opentrail.streams import cis


@click.group()
def alarms() -> None:
    """Metric filters and alarms on trails' log groups (CloudWatch's role)."""


def topic_arn(topic: str, region: str, account: str) -> str:
    """``topic`` as an ARN: an ARN is kept, a name is a topic of ``account`` in ``region``."""
    return topic if topic.startswith("arn:") else f"arn:aws:sns:{region}:{account}:{topic}"


def check_period(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    """CloudWatch's alarm periods: 10, 30, or a multiple of 60 seconds."""
    if value in (10, 30) or (value > 0 and value % 60 == 0):
        return value
    raise click.BadParameter("must be 10, 30 or a multiple of 60 (seconds)")


def plan(log_group: str, topic: str, period: int) -> list[tuple[cis.Control, dict[str, Any], dict[str, Any]]]:
    """Each control with its PutMetricFilter and PutMetricAlarm parameters."""
    return [
        (control, cis.filter_request(control, log_group), cis.alarm_request(control, topic, period))
        for control in cis.CONTROLS
    ]


def group_account(client: Client, log_group: str) -> str:
    """The account that owns ``log_group`` (the caller's), from the group's ARN; the group must exist."""
    found = client.logs("DescribeLogGroups", {"logGroupNamePrefix": log_group})
    for group in found.get("logGroups", []):
        if group.get("logGroupName") == log_group:
            return str(group["arn"]).split(":")[4]
    raise ConfigError(
        f"log group {log_group!r} does not exist; create it (aws logs create-log-group) "
        "or point a trail at it"
    )


@alarms.command("install-cis")
@data_dir_option
@endpoint_option
@region_option
@click.option("--log-group", required=True, help="The log group the trail delivers to.")
@click.option("--topic", required=True, help="Topic the alarms notify: a name in the account, or an ARN.")
@click.option(
    "--period",
    type=int,
    callback=check_period,
    default=cis.PERIOD,
    show_default=True,
    help="Alarm period in seconds (CIS: 300; 10 or 30 for high-resolution alarms, or a multiple of 60).",
)
@click.option(
    "--dry-run", is_flag=True, help="Print the metric filters and alarms instead of installing them."
)
def install_cis(
    data_dir: str | None,
    endpoint_url: str | None,
    region: str | None,
    log_group: str,
    topic: str,
    period: int,
    dry_run: bool,
) -> None:
    """Install the CIS AWS Foundations monitoring controls (4.1-4.15) on LOG_GROUP: a metric filter
    with the exact pattern Security Hub checks, and an alarm notifying TOPIC, for each."""
    if dry_run:
        arn = topic if topic.startswith("arn:") else f"arn:aws:sns:{region or 'REGION'}:ACCOUNT_ID:{topic}"
        calls = [{"PutMetricFilter": f, "PutMetricAlarm": a} for _, f, a in plan(log_group, arn, period)]
        click.echo(json.dumps(calls, indent=2))
        return
    with remote_client(data_dir, endpoint_url, region) as client:
        arn = topic_arn(topic, client.region, group_account(client, log_group))
        for control, put_filter, put_alarm in plan(log_group, arn, period):
            client.logs("PutMetricFilter", put_filter)
            client.cloudwatch("PutMetricAlarm", put_alarm)
            out().print(
                f"{control.cis_id}\t{control.alarm_name}\t{control.title}", markup=False, highlight=False
            )
    out().print(f"{len(cis.CONTROLS)} CIS controls installed on {log_group}, notifying {arn}", markup=False)
