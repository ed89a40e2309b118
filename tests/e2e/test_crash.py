"""Crash safety (DESIGN.md rule 1): kill -9 the server while clients ingest; every event whose call
returned success is present after the restart, and the server goes on accepting events.

Four writer threads send batches of 100 unique records through the native endpoint, each with its own
connection, and remember a batch's eventIDs only once the call has returned success. The server is
killed mid-stream, three times over. Acknowledged events are then checked twice: in the store itself
while the server is down (every id, its exact bytes, and the account's count), and through LookupEvents
after the restart (every id, by paging the round's time window, plus EventId lookups of each writer's
last acknowledged batch).
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from opentrail.errors import RemoteError
from opentrail.store import open_store
from tests.support.server import Credentials, Server

pytestmark = pytest.mark.slow

ROUNDS = 3
WRITERS = 4
BATCH = 100
REGION = "us-east-1"
MIN_ACKED_BATCHES = 12  # acknowledged before the kill, so every round has something to lose
ROUND_SECONDS = 8.0  # upper bound on one round's ingest phase


def lean(server: Server, creds: Credentials, timeout: float = 60.0) -> Client:
    return Client(
        server.endpoint, ReadOnlyCredentials(creds.access_key_id, creds.secret, None), REGION, timeout
    )


def records(base: int, count: int) -> tuple[bytes, dict[str, bytes]]:
    """A batch body of ``count`` unique ~1 KB records, and each record's bytes by eventID."""
    by_id: dict[str, bytes] = {}
    for i in range(count):
        event_id = str(uuid.uuid4())
        record = {
            "eventVersion": "1.11",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:writer",
                "arn": "arn:aws:sts::111122223333:assumed-role/Writer/writer",
                "accountId": "111122223333",
                "accessKeyId": "ASIAEXAMPLE",
            },
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i % 60)),
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutBucketPolicy",
            "awsRegion": REGION,
            "sourceIPAddress": "203.0.113.9",
            "userAgent": "crash-test",
            "requestParameters": {"bucketName": "evidence", "policy": "x" * 600},
            "responseElements": None,
            "requestID": uuid.uuid4().hex,
            "eventID": event_id,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "111122223333",
            "eventCategory": "Management",
        }
        by_id[event_id] = json.dumps(record, separators=(",", ":")).encode()
    return b'{"Records":[' + b",".join(by_id.values()) + b"]}", by_id


@dataclass
class Writer:
    """One client thread: sends batches until told to stop or until a call fails."""

    server: Server
    creds: Credentials
    base: int
    stop: threading.Event
    acked: dict[str, bytes] = field(default_factory=dict)
    last_acked: list[str] = field(default_factory=list)
    attempted: set[str] = field(default_factory=set)
    failures: list[tuple[float, str]] = field(default_factory=list)
    batches: int = 0

    def run(self) -> None:
        # A short timeout: a call caught by the kill must fail fast, not hang the test.
        with lean(self.server, self.creds, timeout=5.0) as client:
            while not self.stop.is_set():
                body, by_id = records(self.base, BATCH)
                self.attempted.update(by_id)
                try:
                    result = client.ingest_records(body)
                except RemoteError as err:
                    self.failures.append((time.monotonic(), f"{err.code}: {err.message}"))
                    return
                if result.get("accepted") != BATCH or result.get("failed"):
                    self.failures.append((time.monotonic(), f"partial answer: {result}"))
                    return
                self.acked.update(by_id)
                self.last_acked = list(by_id)
                self.batches += 1


def lookup_ids(client: Client, params: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    token: str | None = None
    while True:
        page = client.cloudtrail("LookupEvents", {**params, "NextToken": token} if token else params)
        ids.extend(event["EventId"] for event in page["Events"])
        token = page.get("NextToken")
        if not token:
            return ids


def ingest_until_killed(server: Server, creds: Credentials, base: int, rng: random.Random) -> list[Writer]:
    stop = threading.Event()
    writers = [Writer(server, creds, base, stop) for _ in range(WRITERS)]
    threads = [threading.Thread(target=w.run, name=f"writer-{i}") for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + ROUND_SECONDS
    while sum(w.batches for w in writers) < MIN_ACKED_BATCHES and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.05, 0.4))  # land the kill at a different point of the stream each round
    killed_at = time.monotonic()
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive()
    for writer in writers:
        early = [message for at, message in writer.failures if at < killed_at]
        assert early == [], f"calls failed before the kill: {early}"
    return writers


def check_store(server: Server, account: str, acked: dict[str, bytes], attempted: set[str]) -> None:
    """With the server down, read its store directly: the durable state a restart will serve."""
    store = open_store(f"sqlite:///{server.data_dir / 'opentrail.db'}")
    try:
        count = store.count_events(account)
        for event_id, raw in acked.items():
            stored = store.get_event(account, event_id)
            assert stored is not None, f"acknowledged event {event_id} lost"
            assert stored.row.record == raw
    finally:
        store.close()
    # Unacknowledged calls may or may not have committed; nothing else may appear.
    assert len(acked) <= count <= len(attempted)


def test_acknowledged_events_survive_kill_9(fresh_server: Server) -> None:
    server = fresh_server
    rng = random.Random(9)
    started = time.monotonic()
    for round_number in range(ROUNDS):
        # One account per round, so each round's count covers exactly that round's writes.
        creds = server.new_account(f"crash-{round_number}")
        base = 1_717_200_000 + round_number * 86_400  # a past day per round, away from audit events
        writers = ingest_until_killed(server, creds, base, rng)
        acked = {event_id: raw for w in writers for event_id, raw in w.acked.items()}
        attempted = {event_id for w in writers for event_id in w.attempted}
        assert len(acked) >= MIN_ACKED_BATCHES * BATCH
        check_store(server, creds.account_id, acked, attempted)

        server.start()
        with lean(server, creds) as client:
            window: dict[str, Any] = {"StartTime": base, "EndTime": base + 60, "MaxResults": 50}
            listed = lookup_ids(client, window)
            assert len(listed) == len(set(listed))
            assert set(acked) <= set(listed) <= attempted
            for event_id in (event_id for w in writers for event_id in w.last_acked):
                attribute = {"AttributeKey": "EventId", "AttributeValue": event_id}
                assert lookup_ids(client, {**window, "LookupAttributes": [attribute]}) == [event_id]
            # The restarted server takes new events and serves them.
            body, by_id = records(base, BATCH)
            result = client.ingest_records(body)
            assert result == {"accepted": BATCH, "failed": []}
            assert set(lookup_ids(client, window)) == set(listed) | set(by_id)
    assert time.monotonic() - started < 60
