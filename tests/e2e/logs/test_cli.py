"""The Logs API through the real AWS CLI: create-log-group, put-log-events, filter-log-events with a
pattern (the CLI follows nextToken itself), describe-log-groups with its paging, put-metric-filter,
test-metric-filter, and AWS's errors as the CLI prints them."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.server import Credentials, Server


def aws(server: Server, tenant: Credentials, *args: str) -> Any:
    """The command's JSON output; the test fails with the CLI's error when the command does."""
    done = server.aws("logs", *args, "--output", "json", creds=tenant)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_groups_events_and_filters_through_the_cli(server: Server, tenant: Credentials) -> None:
    aws(server, tenant, "create-log-group", "--log-group-name", "cli/app")
    aws(server, tenant, "create-log-stream", "--log-group-name", "cli/app", "--log-stream-name", "web")
    t = int(time.time() * 1000)
    events = [
        {"timestamp": t - 10 + i, "message": f"{'ERROR' if i % 3 == 0 else 'INFO'} request {i}"}
        for i in range(10)
    ]
    put = aws(
        server, tenant, "put-log-events", "--log-group-name", "cli/app", "--log-stream-name", "web",
        "--log-events", json.dumps(events),
    )  # fmt: skip
    assert "rejectedLogEventsInfo" not in put
    found = aws(
        server, tenant, "filter-log-events", "--log-group-name", "cli/app", "--filter-pattern", "ERROR",
        "--page-size", "2",
    )  # fmt: skip
    assert [e["message"] for e in found["events"]] == [f"ERROR request {i}" for i in (0, 3, 6, 9)]
    json_events = aws(
        server, tenant, "filter-log-events", "--log-group-name", "cli/app", "--filter-pattern", "request 4",
    )  # fmt: skip
    assert [e["message"] for e in json_events["events"]] == ["INFO request 4"]


def test_describe_log_groups_pages_in_the_cli(server: Server, tenant: Credentials) -> None:
    for i in range(5):
        aws(server, tenant, "create-log-group", "--log-group-name", f"paged-{i}")
    listed = aws(server, tenant, "describe-log-groups", "--page-size", "2")
    assert [g["logGroupName"] for g in listed["logGroups"]] == [f"paged-{i}" for i in range(5)]
    first = aws(server, tenant, "describe-log-groups", "--max-items", "3")
    assert len(first["logGroups"]) == 3
    rest = aws(server, tenant, "describe-log-groups", "--starting-token", first["NextToken"])
    assert [g["logGroupName"] for g in rest["logGroups"]] == ["paged-3", "paged-4"]


def test_metric_filters_through_the_cli(server: Server, tenant: Credentials) -> None:
    aws(server, tenant, "create-log-group", "--log-group-name", "trail")
    pattern = '{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }'
    aws(
        server, tenant, "put-metric-filter", "--log-group-name", "trail", "--filter-name", "root-usage",
        "--filter-pattern", pattern, "--metric-transformations",
        "metricName=RootUsage,metricNamespace=CIS,metricValue=1,unit=Count",
    )  # fmt: skip
    [described] = aws(server, tenant, "describe-metric-filters", "--log-group-name", "trail")["metricFilters"]
    assert described["metricTransformations"] == [
        {"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1", "unit": "Count"}
    ]
    root = json.dumps({"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"})
    tested = aws(
        server, tenant, "test-metric-filter", "--filter-pattern", pattern,
        "--log-event-messages", root, '{"userIdentity": {"type": "IAMUser"}}',
    )  # fmt: skip
    assert [(m["eventNumber"], m["extractedValues"]) for m in tested["matches"]] == [
        (1, {"$.userIdentity.type": "Root", "$.eventType": "AwsApiCall"})
    ]


def test_errors_as_the_cli_prints_them(server: Server, tenant: Credentials) -> None:
    done = server.aws("logs", "describe-log-streams", "--log-group-name", "missing", creds=tenant)
    assert done.returncode == 255
    assert "ResourceNotFoundException" in done.stderr
    assert "The specified log group does not exist." in done.stderr
    aws(server, tenant, "create-log-group", "--log-group-name", "twice")
    again = server.aws("logs", "create-log-group", "--log-group-name", "twice", creds=tenant)
    assert again.returncode == 255
    assert "ResourceAlreadyExistsException" in again.stderr
    bad = server.aws(
        "logs", "put-retention-policy", "--log-group-name", "twice", "--retention-in-days", "2", creds=tenant
    )
    assert bad.returncode == 255
    assert "InvalidParameterException" in bad.stderr
