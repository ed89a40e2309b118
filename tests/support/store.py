"""Event rows and documents for the store's tests: records indexed as ingest does, the queries history
sends, access keys and trail documents, and the whole log read back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from opentrail.events import EventRow, Kind, StoredEvent
from opentrail.ingest.records import index_record
from opentrail.store import AccessKey, Doc, EventQuery, LogRow, Store

ACCOUNT = "111111111111"
OTHER = "222222222222"
ACCOUNTS = (ACCOUNT, OTHER)
T0 = "2024-05-01T12:00:00Z"
T0_MS = 1714564800000
WIDE = (0, 2**62)
WAIT = 30  # seconds any future may take before the test calls it lost
# Resources as (type, ARN), for the tests that index and look them up.
OBJECT = ("AWS::S3::Object", "arn:aws:s3:::b/k")
BUCKET = ("AWS::S3::Bucket", "arn:aws:s3:::b")


def record(
    event_id: str,
    region: str = "us-east-1",
    *,
    time_text: str = T0,
    name: str = "GetObject",
    source: str = "s3.amazonaws.com",
    category: str | None = "Management",
    read_only: bool | None = None,
    user: str | None = None,
    access_key: str | None = None,
    resources: list[tuple[str, str]] | None = None,
    **extra: Any,
) -> bytes:
    rec: dict[str, Any] = {
        "eventVersion": "1.11",
        "eventTime": time_text,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "eventID": event_id,
    }
    if category is not None:
        rec["eventCategory"] = category
    if read_only is not None:
        rec["readOnly"] = read_only
    if user is not None or access_key is not None:
        rec["userIdentity"] = {"type": "IAMUser", "userName": user, "accessKeyId": access_key}
    if resources is not None:
        rec["resources"] = [{"type": t, "ARN": arn} for t, arn in resources]
    rec.update(extra)
    return json.dumps(rec).encode()


def row(account: str, event_id: str, **kwargs: Any) -> EventRow:
    return index_record(record(event_id, **kwargs), account)


def at(seconds: int) -> str:
    """Record time ``seconds`` after T0."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0_MS // 1000 + seconds))


def query(account: str = ACCOUNT, **kwargs: Any) -> EventQuery:
    values: dict[str, Any] = {
        "account": account,
        "region": "us-east-1",
        "kind": Kind.MANAGEMENT,
        "start_ms": WIDE[0],
        "end_ms": WIDE[1],
        "limit": 50,
    }
    values.update(kwargs)
    return EventQuery(**values)


def ids(events: list[StoredEvent]) -> list[str]:
    return [e.row.event_id for e in events]


def event_row(
    event_id: str, account: str = ACCOUNTS[0], region: str = "us-east-1", **fields: Any
) -> EventRow:
    """``record``'s row as ingest indexes it for ``account``."""
    return index_record(record(event_id, region, **fields), account)


def rows(prefix: str, count: int) -> list[EventRow]:
    """``count`` rows with ids ``<prefix>-<n>``, of the two ``ACCOUNTS`` in turn."""
    return [index_record(record(f"{prefix}-{i}"), ACCOUNTS[i % 2]) for i in range(count)]


def everything(store: Store) -> list[StoredEvent]:
    """Every stored event, in sequence order, read forward a page at a time."""
    events: list[StoredEvent] = []
    cursor = 0
    while page := store.read_after(cursor, 1000):
        events.extend(page)
        cursor = page[-1].seq
    return events


# Five rows for the tests of the backends' ``log_rows``: the range read of chosen streams behind
# ``Store.read_log``. Stored in this order they are numbered 1 to 5.
LOG_ROWS = [
    event_row("e1"),
    event_row("o1", ACCOUNTS[1]),
    event_row("w1", region="eu-west-1"),
    event_row("e2", readOnly=True),
    event_row("e3"),
]


def check_log_rows(log_rows: Callable[[int, int, list[int]], list[LogRow]], east: int, west: int) -> None:
    """``log_rows(after, bound, streams)`` of a log holding ``LOG_ROWS``, whose first account's streams
    in us-east-1 and eu-west-1 are ``east`` and ``west``: the rows after ``after`` up to and including
    ``bound`` of those streams alone, in sequence order, as Python values."""
    rows = log_rows(1, 4, [east, west])
    assert [(r[0], r[1]) for r in rows] == [(3, west), (4, east)]
    _, _, kind, read_only, source, time_ms, record, facts = rows[1]
    assert (kind, read_only, source, time_ms, facts) == (
        int(Kind.MANAGEMENT),
        1,
        "s3.amazonaws.com",
        T0_MS,
        None,
    )
    assert isinstance(record, bytes)
    assert json.loads(record)["eventID"] == "e2"
    assert [r[0] for r in log_rows(0, 10, [east])] == [1, 4, 5]
    assert log_rows(5, 10, [east, west]) == []


def key(access_key_id: str, account: str = ACCOUNT) -> AccessKey:
    return AccessKey(
        access_key_id=access_key_id,
        secret="s3cr3t/" + access_key_id,
        account_id=account,
        user_name="root",
        arn=f"arn:aws:iam::{account}:root",
        principal_id=account,
        is_root=True,
        created=1714564800.5,
    )


def trail(name: str, account: str = ACCOUNT, region: str = "us-east-1", **body: Any) -> Doc:
    arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"
    return Doc("trail", account, region, name, arn, body or {"Name": name})
