"""A channel's IngestionStatus follows each PutAuditEvents call: a success, a failed entry, a
refused request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from tests.support.audit_events import DROP, entry, event_data
from tests.support.channels import Channel


def test_ingestion_status_follows_each_call(channel: Channel) -> None:
    account = channel.creds.account_id
    assert channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"] == {}
    first = channel.put(entry("ok", event_data(account)))["successful"][0]["eventID"]
    status = channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"]
    assert status["LatestIngestionSuccessEventID"] == first
    assert status["LatestIngestionAttemptEventID"] == first
    assert "LatestIngestionErrorCode" not in status
    assert status["LatestIngestionSuccessTime"] == status["LatestIngestionAttemptTime"]
    assert abs(status["LatestIngestionSuccessTime"].timestamp() - datetime.now(UTC).timestamp()) < 60

    result = channel.put(entry("ok2", event_data(account)), entry("bad", event_data(account, UID=DROP)))
    second = result["successful"][0]["eventID"]
    status = channel.ct.get_channel(Channel=channel.id)["IngestionStatus"]
    assert status["LatestIngestionSuccessEventID"] == second
    assert status["LatestIngestionErrorCode"] == "FieldNotFound"
    assert status["LatestIngestionAttemptEventID"] not in (first, second)

    with pytest.raises(ClientError):
        channel.put(entry("dup", event_data(account)), entry("dup", event_data(account)))
    status = channel.ct.get_channel(Channel=channel.arn)["IngestionStatus"]
    assert status["LatestIngestionErrorCode"] == "DuplicatedAuditEventId"
    assert status["LatestIngestionSuccessEventID"] == second
