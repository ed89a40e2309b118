"""What an audit test asks of the real server: a call's record in LookupEvents by its request id, and
a fingerprint of everything calls can change (read from the server's own SQLite database)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from tests.support.server import Credentials, Server

# Documents the service changes by itself (delivery progress, signing keys made on first use).
_BACKGROUND_KINDS = ("delivery", "signing-key")


def recorded(
    server: Server, creds: Credentials, event_name: str, request_id: str, wait: float = 5.0
) -> dict[str, Any] | None:
    """The record of the call answered with ``request_id``, or None if history has none in ``wait``
    seconds (read calls' records are committed in groups, so they may take a moment)."""
    client = server.client("cloudtrail", creds)
    deadline = time.monotonic() + wait
    while True:
        events = client.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}], MaxResults=50
        )["Events"]
        for event in events:
            record: dict[str, Any] = json.loads(event["CloudTrailEvent"])
            if record.get("requestID") == request_id:
                return record
        if time.monotonic() > deadline:
            return None
        time.sleep(0.1)


def fingerprint(server: Server) -> list[tuple[Any, ...]]:
    """Every account, key, grant, bucket and document a call could have changed, in a stable order."""
    path = server.data_dir / "opentrail.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        rows: list[tuple[Any, ...]] = []
        for table in ("accounts", "access_keys", "grants", "buckets"):
            rows += [(table, *row) for row in db.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]  # noqa: S608
        marks = ",".join("?" * len(_BACKGROUND_KINDS))
        query = f"SELECT * FROM docs WHERE kind NOT IN ({marks}) ORDER BY 1, 2, 3, 4"  # noqa: S608
        rows += [("docs", *row) for row in db.execute(query, _BACKGROUND_KINDS)]
    return rows


def traces(server: Server, marker: str) -> list[str]:
    """Where ``marker`` shows in what the server keeps: event records (audit records and ingested ones),
    documents (trails, channels, tags, ...) and the names of files under the data directory. A forged
    or refused request must leave none."""
    path = server.data_dir / "opentrail.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        # instr, not LIKE: records are BLOBs, which LIKE does not read as text.
        events = db.execute("SELECT seq FROM events WHERE instr(record, ?) > 0", (marker.encode(),))
        found = [f"event {seq}" for (seq,) in events]
        docs = db.execute("SELECT kind, name FROM docs WHERE instr(name || body, ?) > 0", (marker,))
        found += [f"{kind} {name}" for kind, name in docs]
    found += [str(p.relative_to(server.data_dir)) for p in server.data_dir.rglob(f"*{marker}*")]
    return found
