"""PutAuditEvents payloads: a producer's eventData and the entries that carry it, shared by the
conversion's unit tests and the end-to-end ones."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

# A value for ``event_data``'s changes: leave the field out.
DROP = object()


def now_text(z: bool = True) -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if z else "")


def event_data(account: str, source: str = "app.example.com", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "1.0",
        "userIdentity": {"type": "CustomUser", "principalId": "alice", "details": {"team": "blue"}},
        "userAgent": "example-app/2.1",
        "eventSource": source,
        "eventName": "SignIn",
        "eventTime": now_text(),
        "UID": str(uuid.uuid4()),
        "requestParameters": {"user": "alice"},
        "responseElements": {"ok": True},
        "sourceIPAddress": "203.0.113.7",
        "recipientAccountId": account,
        "additionalEventData": {"mfa": True},
    }
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def checksum(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def entry(entry_id: str, data: dict[str, Any] | str, with_checksum: bool = True) -> dict[str, str]:
    text = data if isinstance(data, str) else json.dumps(data)
    item = {"id": entry_id, "eventData": text}
    if with_checksum:
        item["eventDataChecksum"] = checksum(text)
    return item
