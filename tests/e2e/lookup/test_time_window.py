"""The time window and the order of event history: inclusive bounds, newest first with ties in
arrival order, and the default 90-day window."""

from __future__ import annotations

import time
from typing import Any

from tests.support.lookup import BASE, all_pages, record, send
from tests.support.server import Credentials, Server


def test_time_bounds_are_inclusive_and_order_is_newest_first_with_ties(
    server: Server, account: Credentials
) -> None:
    times = [BASE - 1, BASE, BASE + 1, BASE + 2, BASE + 3]
    singles = [record(at=t, name=f"At{t - BASE}") for t in times]
    # Three events in the same second, in one batch: later in the batch is newer.
    ties = [record(at=BASE + 1, name=f"Tie{i}") for i in range(3)]
    send(server, account, [singles[3], singles[0], singles[4]])
    send(server, account, [singles[2], *ties, singles[1]])
    ct = server.client("cloudtrail", account)

    def names(**params: Any) -> list[str]:
        return [e["EventName"] for e in ct.lookup_events(**params)["Events"]]

    assert names(StartTime=BASE, EndTime=BASE + 2) == ["At2", "Tie2", "Tie1", "Tie0", "At1", "At0"]
    assert names(StartTime=BASE + 3, EndTime=BASE + 3) == ["At3"]  # start == end: one instant
    # Float bounds: a millisecond past a second excludes it, a millisecond short of one too.
    assert names(StartTime=BASE + 0.001, EndTime=BASE + 1.999) == ["Tie2", "Tie1", "Tie0", "At1"]
    assert names(StartTime=BASE - 10, EndTime=BASE + 10) == [
        "At3", "At2", "Tie2", "Tie1", "Tie0", "At1", "At0", "At-1"
    ]  # fmt: skip
    # Ties stay in order across page boundaries too.
    paged = all_pages(ct, StartTime=BASE, EndTime=BASE + 2, PaginationConfig={"PageSize": 2})
    assert [e["EventName"] for e in paged] == ["At2", "Tie2", "Tie1", "Tie0", "At1", "At0"]


def test_default_window_and_old_explicit_start(server: Server, account: Credentials) -> None:
    now = time.time()
    recent = record(at=now - 3600, name="Recent")
    old = record(at=now - 200 * 86_400, name="Replayed")  # older than the 90-day retention window
    send(server, account, [recent, old])
    ct = server.client("cloudtrail", account)
    source = [{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]
    # Without StartTime the window is the last 90 days.
    assert [e["EventName"] for e in ct.lookup_events(LookupAttributes=source)["Events"]] == ["Recent"]
    # An explicit old StartTime reaches replayed history.
    found = ct.lookup_events(LookupAttributes=source, StartTime=now - 365 * 86_400)
    assert [e["EventName"] for e in found["Events"]] == ["Recent", "Replayed"]
    # An EndTime in the past moves the default window back with it.
    found = ct.lookup_events(LookupAttributes=source, EndTime=now - 199 * 86_400)
    assert [e["EventName"] for e in found["Events"]] == ["Replayed"]
