"""``opentrail alarms install-cis`` against the running server: the 15 CIS metric filters with the exact
patterns and their 15 alarms exist afterwards, a second run replaces them, a missing log group is named,
and one control really fires: an AccessDenied event takes ``unauthorized_api_calls_alarm`` to ALARM and
its topic is notified."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.streams import cis
from tests.support.delivery import record
from tests.support.server import Server
from tests.support.streams import Monitored, alarm_notifications, wait_states
from tests.support.stub import Stub


@pytest.fixture
def tenant(server: Server) -> Monitored:
    return Monitored(server)


def install(tenant: Monitored, topic: str, *options: str) -> str:
    args = ["alarms", "install-cis", "--log-group", tenant.group, "--topic", topic, *options]
    return tenant.server.cli_as(tenant.creds, *args).stdout


def metric_filters(tenant: Monitored) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in tenant.logs.get_paginator("describe_metric_filters").paginate(logGroupName=tenant.group):
        found.update((f["filterName"], f) for f in page["metricFilters"])
    return found


def alarms(tenant: Monitored) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in tenant.cloudwatch.get_paginator("describe_alarms").paginate():
        found.update((a["AlarmName"], a) for a in page["MetricAlarms"])
    return found


def test_install_cis_puts_the_fifteen_filters_and_alarms_and_replaces_them(tenant: Monitored) -> None:
    arn = tenant.topic("cis-alerts", "http://127.0.0.1:9/unused")
    printed = install(tenant, "cis-alerts")
    assert printed.splitlines()[-1] == f"15 CIS controls installed on {tenant.group}, notifying {arn}"
    for run, period in ((1, cis.PERIOD), (2, 60)):
        filters = metric_filters(tenant)
        assert {name: f["filterPattern"] for name, f in filters.items()} == {
            c.metric_name: c.pattern for c in cis.CONTROLS
        }
        for control in cis.CONTROLS:
            (transformation,) = filters[control.metric_name]["metricTransformations"]
            assert transformation["metricNamespace"] == "CISBenchmark"
            assert (transformation["metricName"], transformation["metricValue"]) == (control.metric_name, "1")
        found = alarms(tenant)
        assert set(found) == {c.alarm_name for c in cis.CONTROLS}, run
        for control in cis.CONTROLS:
            alarm = found[control.alarm_name]
            assert (alarm["Namespace"], alarm["MetricName"]) == ("CISBenchmark", control.metric_name)
            assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", period, 1)
            assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1.0, "GreaterThanOrEqualToThreshold")
            assert alarm["AlarmActions"] == [arn]
        if run == 1:
            install(tenant, arn, "--period", "60")  # again, by ARN: the same names, replaced


def test_install_cis_on_a_missing_log_group_says_so(tenant: Monitored) -> None:
    args = ["alarms", "install-cis", "--log-group", "no-such-group", "--topic", "cis-alerts"]
    result = tenant.server.cli_as(tenant.creds, *args, check=False)
    assert result.returncode == 2, result
    assert "log group 'no-such-group' does not exist" in result.stderr
    assert alarms(tenant) == {}


def test_an_access_denied_event_fires_the_unauthorized_api_calls_alarm(
    tenant: Monitored, webhook: Stub
) -> None:
    tenant.topic("cis-alerts", webhook.url)
    tenant.streaming_trail("cis")
    install(tenant, "cis-alerts", "--period", "10")
    denied = record(tenant.account)
    denied.update(
        errorCode="AccessDenied", errorMessage="User: alice is not authorized to perform: iam:ListUsers"
    )
    tenant.ingest([record(tenant.account), denied])
    (message,) = wait_states(webhook, "unauthorized_api_calls_alarm", ["ALARM"], timeout=30)
    assert message["Trigger"]["MetricName"] == "unauthorized_api_calls_metric"
    assert message["AlarmDescription"] == "Unauthorized API calls (CIS 4.1 / Security Hub CloudWatch.2)"
    # The tenant calls as its account's root, and the trail records those calls too (install-cis's own
    # PutMetricAlarm calls, after the root-usage filter was put): CIS 4.3 may fire beside it, no other.
    notified = {m["AlarmName"] for m in alarm_notifications(webhook)}
    assert notified <= {"unauthorized_api_calls_alarm", "root_usage_alarm"}
    state = tenant.cloudwatch.describe_alarms(AlarmNames=["unauthorized_api_calls_alarm"])["MetricAlarms"]
    assert state[0]["StateValue"] == "ALARM"
