"""``opentrail alarms install-cis --dry-run`` prints the calls it would make, without a server."""

from __future__ import annotations

import json

from opentrail.streams import cis
from tests.support.cli import opentrail


def test_dry_run_prints_a_filter_and_an_alarm_per_control() -> None:
    result = opentrail(
        "alarms",
        "install-cis",
        "--log-group",
        "trail-logs",
        "--topic",
        "alerts",
        "--period",
        "10",
        "--region",
        "eu-west-1",
        "--dry-run",
    )
    assert result.exit_code == 0, result.output
    calls = json.loads(result.stdout)
    assert len(calls) == len(cis.CONTROLS) == 15
    first = calls[0]
    assert first["PutMetricFilter"]["logGroupName"] == "trail-logs"
    assert first["PutMetricFilter"]["filterPattern"] == cis.CONTROLS[0].pattern
    assert first["PutMetricAlarm"]["AlarmActions"] == ["arn:aws:sns:eu-west-1:ACCOUNT_ID:alerts"]
    assert {c["PutMetricAlarm"]["Period"] for c in calls} == {10}


def test_a_topic_arn_is_used_as_given() -> None:
    arn = "arn:aws:sns:us-east-1:111122223333:ops"
    result = opentrail("alarms", "install-cis", "--log-group", "g", "--topic", arn, "--dry-run")
    assert result.exit_code == 0, result.output
    assert {a for c in json.loads(result.stdout) for a in c["PutMetricAlarm"]["AlarmActions"]} == {arn}


def test_a_period_cloudwatch_refuses_is_refused_before_any_call() -> None:
    result = opentrail("alarms", "install-cis", "--log-group", "g", "--topic", "t", "--period", "45")
    assert result.exit_code == 2
    assert "must be 10, 30 or a multiple of 60" in result.output
