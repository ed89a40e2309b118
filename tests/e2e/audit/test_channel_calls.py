"""PutAuditEvents is audited as CloudTrail audits it: a data event on its channel, delivered where a
trail's advanced selectors select it (issue 13: every call the server serves is recorded)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.audit_events import entry, event_data
from tests.support.channels import Channel
from tests.support.delivery import Tenant
from tests.support.server import Server, make_server, wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from make_server({"OPENTRAIL_DELIVERY_INTERVAL": "1"})


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


def test_put_audit_events_is_a_data_event_on_its_channel(server: Server) -> None:
    """CloudTrail records PutAuditEvents as a data event of type AWS::CloudTrail::Channel: delivered by a
    trail whose advanced selectors select it, in no event history."""
    tenant = Tenant(server)
    channel = Channel(server, tenant.creds)
    tenant.trail("channels")
    tenant.cloudtrail.put_event_selectors(
        TrailName="channels",
        AdvancedEventSelectors=[
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::CloudTrail::Channel"]},
                ]
            }
        ],
    )
    put = channel.put(entry("e-1", event_data(tenant.account)))
    assert put["failed"] == []
    rid = request_id(put)

    def delivered() -> list[dict[str, Any]]:
        return [r for r in tenant.records() if r.get("requestID") == rid]

    [record] = wait_for(delivered, "PutAuditEvents's own record in the trail's log files")
    assert (record["eventSource"], record["eventName"], record["eventCategory"]) == (
        "cloudtrail-data.amazonaws.com",
        "PutAuditEvents",
        "Data",
    )
    assert record["resources"] == [
        {"accountId": tenant.account, "type": "AWS::CloudTrail::Channel", "ARN": channel.arn}
    ]
    assert record["requestParameters"]["channelArn"] == channel.arn
