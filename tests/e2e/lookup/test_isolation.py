"""Event history is each account's and each region's own, even where two accounts share an eventID."""

from __future__ import annotations

import uuid

from tests.support.lookup import BASE, WINDOW, record, send
from tests.support.server import Credentials, Server


def test_accounts_and_regions_are_isolated(server: Server, account: Credentials) -> None:
    other = server.new_account("lookup-other")
    shared_id = str(uuid.uuid4())
    mine = record(at=BASE, name="Mine", eventID=shared_id)
    theirs = record(at=BASE, name="Theirs", eventID=shared_id)  # the same eventID in another account
    european = record(at=BASE + 1, name="European", region="eu-west-1")
    send(server, account, [mine, european])
    send(server, other, [theirs])
    by_id = [{"AttributeKey": "EventId", "AttributeValue": shared_id}]
    for creds, expected in [(account, "Mine"), (other, "Theirs")]:
        ct = server.client("cloudtrail", creds)
        assert [e["EventName"] for e in ct.lookup_events(**WINDOW)["Events"]] == [expected]
        assert [e["EventName"] for e in ct.lookup_events(LookupAttributes=by_id, **WINDOW)["Events"]] == [
            expected
        ]
    eu = server.client("cloudtrail", account, region="eu-west-1")
    assert [e["EventName"] for e in eu.lookup_events(**WINDOW)["Events"]] == ["European"]
    assert server.client("cloudtrail", other, region="eu-west-1").lookup_events(**WINDOW)["Events"] == []
    assert server.client("cloudtrail", account, region="ap-south-1").lookup_events(**WINDOW)["Events"] == []
