"""PutAuditEvents through the real server: a channel of an account and the calls made through it, and
the error and the event history read back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import Credentials, Server

REGION = "us-east-1"


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def lookup(
    server: Server, creds: Credentials, key: str, value: str, region: str = REGION
) -> list[dict[str, Any]]:
    ct = server.client("cloudtrail", creds, region)
    events: list[dict[str, Any]] = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]
    )["Events"]
    return events


class Channel:
    def __init__(self, server: Server, creds: Credentials, name: str = "app", region: str = REGION) -> None:
        self.server = server
        self.creds = creds
        self.ct = server.client("cloudtrail", creds, region)
        self.data = server.client("cloudtrail-data", creds, region)
        self.arn: str = self.ct.create_channel(
            Name=name,
            Source="Custom",
            Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "example-event-data-store"}],
        )["ChannelArn"]
        self.id = self.arn.rsplit("/", 1)[1]

    def put(self, *entries: dict[str, str], channel: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.data.put_audit_events(
            auditEvents=list(entries), channelArn=channel or self.arn
        )
        return result
