"""Docs that cannot rot: docs/api.md's CloudWatch Logs table lists exactly the operations served."""

from __future__ import annotations

import re

from opentrail.server.operations import JSON_SERVICES
from tests.support.server import ROOT


def documented() -> set[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## CloudWatch Logs operations", 1)[1].split("\n## ", 1)[0]
    found: set[str] = set()
    for cell in re.findall(r"^\| (`[A-Z][A-Za-z]+`(?:, `[A-Z][A-Za-z]+`)*) \|", section, re.MULTILINE):
        found.update(re.findall(r"`([A-Za-z]+)`", cell))
    return found


def test_every_logs_operation_is_documented_and_every_documented_one_served() -> None:
    assert documented() == set(JSON_SERVICES["logs"].operations)
