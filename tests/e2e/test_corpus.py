"""Every real CloudTrail record of the corpus, replayed through the native endpoint and read back.

The four datasets hold 3,628 records (``../shared/corpus``, each folder's README says where they come
from): invictus-ir 2,900 (55 log files), stratus-red-team 310 (35 pretty-printed JSON arrays),
traildiscover 315 (``*.json.cloudtrail`` files: 296 one-element arrays, 19 bare record objects, 22 empty
arrays), otrf 103 (JSON Lines whose ``eventTime`` Logstash replaced by ``@timestamp``; the test inserts
``"eventTime"`` in front of each line's other fields, leaving the rest of the line's bytes as they are).

Outcome, asserted below: 3,627 accepted, 1 rejected.

- Rejected: ``traildiscover/events/SES/SendEmail.json.cloudtrail`` (eventID
  eb834e01-f168-435f-92c0-c36278378b6e), ``FieldNotFound``: "record is missing required field
  eventVersion". The sample was trimmed upstream: it has neither ``eventVersion`` nor ``userIdentity``,
  which every CloudTrail API-call record carries (reference section 4.1), so it truly violates the format.
- Accepted twice, stored once: ``traildiscover/events/ECR/DescribeRepositorie.json.cloudtrail`` is a
  byte-identical copy of ``DescribeRepositories.json.cloudtrail`` (same eventID); the server deduplicates
  by (account, eventID), so 3,626 events are stored.
- Unusual shapes that must pass: 7 records without ``requestID``, stratus and traildiscover's fictitious
  regions (``apiso-northsouth-3r``, ...), 42 ``AwsServiceEvent`` records without ``userIdentity``, 5
  console sign-ins, eventVersion 1.04-1.11, records without ``eventCategory`` (otrf, eventVersion 1.05-1.07).
- Not in event history: otrf's 9 data events (``eventCategory`` Data); LookupEvents covers management events.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.corpus import Item, corpus_items
from tests.support.server import CORPUS, Credentials, Server

pytestmark = pytest.mark.slow

EXPECTED_COUNTS = {"invictus": 2900, "stratus": 310, "traildiscover": 315, "otrf": 103}
EXPECTED_REJECTIONS = {"eb834e01-f168-435f-92c0-c36278378b6e": ("FieldNotFound", "eventVersion")}
DUPLICATE_ID = "1beabe83-97a7-4235-a9b9-e1f78c21e09f"
SAMPLE_SIZE = 300
SEED = 20240701


def lean(server: Server, creds: Credentials, region: str) -> Client:
    return Client(server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None), region)


@dataclass
class Replayed:
    items: list[Item]
    creds: Credentials


@pytest.fixture(scope="module")
def replayed(server: Server) -> Replayed:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    items = corpus_items()
    creds = server.new_account("corpus")
    with lean(server, creds, "us-east-1") as client:
        for start in range(0, len(items), 500):
            chunk = items[start : start + 500]
            body = b'{"Records":[' + b",".join(item.raw for item in chunk) + b"]}"
            result = client.ingest_records(body)
            failed = {f["index"]: f for f in result["failed"]}
            assert result["accepted"] + len(failed) == len(chunk)
            for index, item in enumerate(chunk):
                failure = failed.get(index)
                item.accepted = failure is None
                if failure is not None:
                    assert failure["eventID"] == item.event_id
                    item.error = (failure["errorCode"], failure["errorMessage"])
    return Replayed(items, creds)


def lookup_all(client: Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = client.cloudtrail("LookupEvents", {**params, "NextToken": token} if token else params)
        events.extend(page["Events"])
        token = page.get("NextToken")
        if not token:
            return events


def test_corpus_has_3628_records(replayed: Replayed) -> None:
    counts = Counter(item.dataset for item in replayed.items)
    assert dict(counts) == EXPECTED_COUNTS
    assert sum(counts.values()) == 3628


def test_each_record_is_accepted_or_rejected_with_a_precise_reason(replayed: Replayed) -> None:
    assert all(item.accepted is not None for item in replayed.items)
    rejected = {item.event_id: item for item in replayed.items if not item.accepted}
    assert set(rejected) == set(EXPECTED_REJECTIONS), [
        (str(i.path), i.where, i.error) for i in rejected.values()
    ]
    for event_id, (code, field_name) in EXPECTED_REJECTIONS.items():
        error = rejected[event_id].error
        assert error is not None
        assert error[0] == code
        assert field_name in error[1]
    assert sum(1 for item in replayed.items if item.accepted) == 3627


def test_history_holds_exactly_the_accepted_management_events(server: Server, replayed: Replayed) -> None:
    by_region: dict[str, list[Item]] = defaultdict(list)
    for item in replayed.items:
        if item.accepted and item.management:
            by_region[item.record["awsRegion"]].append(item)
    assert max(item.epoch for items in by_region.values() for item in items) < datetime.now(UTC).timestamp()
    total = 0
    for region, items in sorted(by_region.items()):
        window = {"StartTime": min(i.epoch for i in items), "EndTime": max(i.epoch for i in items) + 1}
        with lean(server, replayed.creds, region) as client:
            found = lookup_all(client, {**window, "MaxResults": 50})
        ids = [event["EventId"] for event in found]
        assert len(ids) == len(set(ids)), f"{region}: an event is listed twice"
        assert set(ids) == {item.event_id for item in items}, region
        total += len(ids)
    # 3,627 accepted minus otrf's 9 data events, minus the duplicate traildiscover copy.
    assert total == 3627 - 9 - 1


def test_records_come_back_byte_for_byte(server: Server, replayed: Replayed) -> None:
    candidates = [item for item in replayed.items if item.accepted and item.management]
    unusual = [item for item in candidates if item.unusual]
    sample = random.Random(SEED).sample(candidates, SAMPLE_SIZE)
    chosen = {id(item): item for item in [*sample, *unusual]}.values()
    assert len(unusual) > 300  # every stratus record has a fictitious region
    clients: dict[str, Client] = {}
    try:
        for item in chosen:
            region = item.record["awsRegion"]
            client = clients.get(region) or clients.setdefault(region, lean(server, replayed.creds, region))
            page = client.cloudtrail(
                "LookupEvents",
                {
                    "LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": item.event_id}],
                    "StartTime": item.epoch - 1,
                    "EndTime": item.epoch + 1,
                },
            )
            where = f"{item.path} {item.where}"
            assert len(page["Events"]) == 1, where
            text = page["Events"][0]["CloudTrailEvent"]
            assert json.loads(text) == item.record, where
            assert text.encode() == item.raw, where
    finally:
        for client in clients.values():
            client.close()


def test_data_events_stay_out_of_history(server: Server, replayed: Replayed) -> None:
    data = [item for item in replayed.items if item.accepted and not item.management]
    assert len(data) == 9
    with lean(server, replayed.creds, "us-east-1") as client:
        for item in data:
            page = client.cloudtrail(
                "LookupEvents",
                {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": item.event_id}]},
            )
            assert page["Events"] == [], f"{item.path} {item.where}"


def test_duplicate_record_is_stored_once(server: Server, replayed: Replayed) -> None:
    copies = [item for item in replayed.items if item.event_id == DUPLICATE_ID]
    assert len(copies) == 2
    assert copies[0].raw == copies[1].raw
    assert all(item.accepted for item in copies)
    with lean(server, replayed.creds, copies[0].record["awsRegion"]) as client:
        page = client.cloudtrail(
            "LookupEvents",
            {
                "LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": DUPLICATE_ID}],
                "StartTime": copies[0].epoch - 1,
                "EndTime": copies[0].epoch + 1,
            },
        )
    assert len(page["Events"]) == 1


def test_put_events_replays_whole_dataset_folders(server: Server, tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    creds = server.new_account("corpus-cli")
    result = server.cli_as(
        creds,
        "put-events",
        str(CORPUS / "invictus-ir-aws-dataset" / "CloudTrail"),
        str(CORPUS / "stratus-red-team-detonation-logs" / "detonation-logs"),
        "--output",
        "json",
    )
    summary = json.loads(result.stdout)
    assert summary["files"] == 55 + 35
    assert summary["records"] == summary["accepted"] == 2900 + 310
    assert summary["rejected"] == []
