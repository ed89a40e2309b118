"""The corpus of real CloudTrail records (../shared/corpus), sliced as put-events slices it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opentrail.client import replay
from tests.support.server import CORPUS


@dataclass
class Item:
    """One corpus record: where it is, and the exact bytes sent for it."""

    dataset: str
    path: Path
    where: str
    raw: bytes
    record: dict[str, Any] = field(init=False)
    accepted: bool | None = None
    error: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.record = json.loads(self.raw)

    @property
    def event_id(self) -> str:
        return str(self.record["eventID"])

    @property
    def epoch(self) -> int:
        return int(datetime.fromisoformat(self.record["eventTime"].replace("Z", "+00:00")).timestamp())

    @property
    def management(self) -> bool:
        # Records before eventVersion 1.07 have no eventCategory; managementEvent false marks data events.
        category = self.record.get("eventCategory")
        if category is not None:
            return bool(category == "Management")
        return self.record.get("managementEvent") is not False

    @property
    def unusual(self) -> bool:
        region = str(self.record["awsRegion"])
        return (
            "requestID" not in self.record
            or self.record.get("eventType") in ("AwsServiceEvent", "AwsConsoleSignIn")
            or "userIdentity" not in self.record
            or region.endswith("r")  # the anonymised, fictitious regions (us-north-2r, ...)
        )


def _sliced(dataset: str, path: Path) -> Iterator[Item]:
    """Records as ``put-events`` slices them, each checked to be a verbatim span of the file."""
    data = path.read_bytes()
    source = replay.parse_source(path, data)
    for index, raw in enumerate(source.records):
        assert raw in data, f"{path} {source.where(index)} is not a verbatim slice of the file"
        yield Item(dataset, path, source.where(index), raw)


def _otrf(path: Path) -> Iterator[Item]:
    data = path.read_bytes()
    for number, line in enumerate(data.split(b"\n"), start=1):
        original = line.strip()
        if not original:
            continue
        stamp = json.loads(original)["@timestamp"]  # e.g. 2020-09-14T00:44:23.000Z
        event_time = stamp[:19] + "Z"  # CloudTrail's format has whole seconds
        prefix = b'{"eventTime":"' + event_time.encode() + b'",'
        item = Item("otrf", path, f"line {number}", prefix + original[1:])
        assert item.raw[len(prefix) :] == original[1:]
        yield item


def corpus_items() -> list[Item]:
    items: list[Item] = []
    for path in sorted((CORPUS / "invictus-ir-aws-dataset" / "CloudTrail").glob("*.json")):
        items.extend(_sliced("invictus", path))
    for path in sorted((CORPUS / "stratus-red-team-detonation-logs" / "detonation-logs").glob("*.json")):
        items.extend(_sliced("stratus", path))
    for path in sorted((CORPUS / "traildiscover" / "events").rglob("*")):
        # Sample records live in *.json.cloudtrail (and one extension-less empty array); *.json are
        # catalogue entries, not records.
        if path.is_file() and (path.name.endswith(".json.cloudtrail") or "." not in path.name):
            items.extend(_sliced("traildiscover", path))
    for path in sorted((CORPUS / "otrf-security-datasets-aws").glob("*.json")):
        items.extend(_otrf(path))
    return items
