"""StartLogging and StopLogging, and the status GetTrailStatus reports for each."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.support.trails import Tenant, body, expect_error

WHOLE_SECOND = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
# The deprecated string members AWS always sends, "" until there is a time to put in them.
STRINGS = (
    "LatestDeliveryAttemptTime",
    "LatestNotificationAttemptTime",
    "LatestNotificationAttemptSucceeded",
    "LatestDeliveryAttemptSucceeded",
    "TimeLoggingStarted",
    "TimeLoggingStopped",
)


def test_a_new_trails_status_is_aws_s_empty_strings(shared: Tenant) -> None:
    shared.trail("fresh")
    status = body(shared.client().get_trail_status(Name="fresh"))
    assert status == {"IsLogging": False, **dict.fromkeys(STRINGS, "")}


def test_start_and_stop_logging(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("log")
    before = datetime.now().astimezone()
    assert body(client.start_logging(Name="log")) == {}
    status = body(client.get_trail_status(Name="log"))
    assert {"IsLogging", "StartLoggingTime", *STRINGS} <= set(status)
    assert "StopLoggingTime" not in status
    assert status["IsLogging"] is True
    started = status["StartLoggingTime"]
    assert abs((started - before).total_seconds()) < 5
    # The string twin of StartLoggingTime: the same time in whole seconds, AWS's "2015-11-06T18:36:38Z".
    assert status["TimeLoggingStarted"] == started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert status["TimeLoggingStopped"] == ""
    client.start_logging(Name="log")  # already logging: nothing changes
    assert client.get_trail_status(Name="log")["StartLoggingTime"] == started
    client.stop_logging(Name=shared.arn("log"))
    status = body(client.get_trail_status(Name=shared.arn("log")))
    assert status["IsLogging"] is False
    assert {"IsLogging", "StartLoggingTime", "StopLoggingTime", *STRINGS} <= set(status)
    assert status["StopLoggingTime"] >= started
    assert re.fullmatch(WHOLE_SECOND, status["TimeLoggingStopped"])
    assert status["TimeLoggingStopped"] == status["StopLoggingTime"].astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    for operation in (client.start_logging, client.stop_logging):
        expect_error("TrailNotFoundException", operation, Name="no-such-trail")
        expect_error("InvalidTrailNameException", operation, Name="a")
        expect_error("CloudTrailARNInvalidException", operation, Name="arn:aws:cloudtrail:us-east-1:x")
