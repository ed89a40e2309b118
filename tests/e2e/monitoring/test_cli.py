"""The AWS CLI's cloudwatch commands against the server, as an operator types them."""

from __future__ import annotations

import json
import time
import uuid

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
