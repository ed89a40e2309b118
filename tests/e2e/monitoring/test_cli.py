"""The AWS CLI's cloudwatch commands against the server, as an operator types them."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.support.server import Credentials, Server


def test_put_get_and_list_with_the_aws_cli(server: Server, creds: Credentials) -> None:
    space = f"Cli/{uuid.uuid4().hex[:8]}"
    at = int(time.time()) // 60 * 60 - 60
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at + 5))
    for value in ("3", "5"):
        put = server.aws(
            "cloudwatch",
            "put-metric-data",
            "--namespace",
            space,
            "--metric-name",
            "Errors",
            "--value",
            value,
            "--unit",
            "Count",
            "--dimensions",
            "Service=api",
            "--timestamp",
            stamp,
            creds=creds,
        )
        assert put.returncode == 0, put.stderr
    got = server.aws(
        "cloudwatch",
        "get-metric-statistics",
        "--namespace",
        space,
        "--metric-name",
        "Errors",
        "--dimensions",
        "Name=Service,Value=api",
        "--start-time",
        str(at),
        "--end-time",
        str(at + 60),
        "--period",
        "60",
        "--statistics",
        "Sum",
        "Maximum",
        "--output",
        "json",
        creds=creds,
    )
    assert got.returncode == 0, got.stderr
    [point] = json.loads(got.stdout)["Datapoints"]
    assert (point["Sum"], point["Maximum"], point["Unit"]) == (8.0, 5.0, "Count")
    listed = server.aws("cloudwatch", "list-metrics", "--namespace", space, "--output", "json", creds=creds)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["Metrics"] == [
        {"Namespace": space, "MetricName": "Errors", "Dimensions": [{"Name": "Service", "Value": "api"}]}
    ]
    refused = server.aws(
        "cloudwatch",
        "put-metric-data",
        "--namespace",
        "AWS/Lambda",
        "--metric-name",
        "x",
        "--value",
        "1",
        creds=creds,
    )
    assert refused.returncode != 0
    assert "InvalidParameterValue" in refused.stderr


def test_alarms_with_the_aws_cli(server: Server, creds: Credentials) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"

    def aws(*args: str) -> dict[str, Any]:
        done = server.aws("cloudwatch", *args, "--output", "json", creds=creds)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    aws(
        "put-metric-alarm",
        "--alarm-name",
        name,
        "--alarm-description",
        "errors from the CLI",
        "--namespace",
        "Cli/Alarms",
        "--metric-name",
        "Errors",
        "--dimensions",
        "Name=Service,Value=api",
        "--statistic",
        "Sum",
        "--period",
        "60",
        "--evaluation-periods",
        "2",
        "--datapoints-to-alarm",
        "1",
        "--threshold",
        "3",
        "--comparison-operator",
        "GreaterThanOrEqualToThreshold",
        "--treat-missing-data",
        "ignore",
        "--alarm-actions",
        "arn:aws:sns:us-east-1:123456789012:pager",
    )
    [found] = aws("describe-alarms", "--alarm-names", name)["MetricAlarms"]
    assert (found["StateValue"], found["Threshold"], found["EvaluationPeriods"]) == (
        "INSUFFICIENT_DATA",
        3.0,
        2,
    )
    assert found["Dimensions"] == [{"Name": "Service", "Value": "api"}]
    assert found["AlarmActions"] == ["arn:aws:sns:us-east-1:123456789012:pager"]
    aws("set-alarm-state", "--alarm-name", name, "--state-value", "ALARM", "--state-reason", "drill")
    [alarmed] = aws("describe-alarms", "--alarm-name-prefix", name, "--state-value", "ALARM")["MetricAlarms"]
    assert (alarmed["AlarmName"], alarmed["StateReason"]) == (name, "drill")
    history = aws("describe-alarm-history", "--alarm-name", name, "--history-item-type", "StateUpdate")
    assert [i["HistorySummary"] for i in history["AlarmHistoryItems"]] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM"
    ]
    # CLI v1 shows a timestamp as the protocol carried it: JSON 1.0's epoch seconds.
    assert abs(history["AlarmHistoryItems"][0]["Timestamp"] - time.time()) < 60
    refused = server.aws(
        "cloudwatch", "set-alarm-state", "--alarm-name", name + "-missing", "--state-value", "OK",
        "--state-reason", "x", creds=creds,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "ResourceNotFound" in refused.stderr
    assert f"Alarm {name}-missing does not exist." in refused.stderr
    bad = server.aws(
        "cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "Cli/Alarms", "--metric-name",
        "Errors", "--statistic", "Sum", "--period", "45", "--evaluation-periods", "1", "--threshold", "1",
        "--comparison-operator", "GreaterThanThreshold", creds=creds,
    )  # fmt: skip
    assert bad.returncode != 0
    assert "InvalidParameterValue" in bad.stderr
    aws("delete-alarms", "--alarm-names", name)
    assert aws("describe-alarms", "--alarm-names", name)["MetricAlarms"] == []
