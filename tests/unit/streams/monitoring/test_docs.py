"""docs/api.md's "CloudWatch ..." sections list every CloudWatch operation the server answers, and
only those (alarms' operations join the table when they join ``OPERATIONS``)."""

from __future__ import annotations

import re
from pathlib import Path

from opentrail.streams.monitoring.operations import OPERATIONS

API = Path(__file__).resolve().parents[4] / "docs" / "api.md"


def section(title: str) -> str:
    """Every ``## <title>...`` section of the page (the metrics' and the alarms'; CloudWatch Logs has its
    own service and its own test)."""
    found = []
    for part in API.read_text().split("\n## ")[1:]:
        if part.startswith(title) and not part.startswith("CloudWatch Logs"):
            found.append(part)
    return "\n".join(found)


def test_every_cloudwatch_operation_is_documented_and_served() -> None:
    first_cells = re.findall(r"^\| (`[A-Z][^|]*) \|", section("CloudWatch"), re.MULTILINE)
    documented = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Za-z]+)`", cell)}
    assert documented == set(OPERATIONS)


def test_the_prometheus_families_are_documented() -> None:
    text = section("Health and metrics")
    for name in (
        "opentrail_metric_filter_sum",
        "opentrail_metric_filter_count",
        "opentrail_metric_filter_series_dropped",
    ):
        assert f"`{name}`" in text
