"""StartLogging and StopLogging, and the status GetTrailStatus reports for each."""

from __future__ import annotations

import re
from datetime import datetime

from tests.support.trails import Tenant, body, expect_error


def test_start_and_stop_logging(shared: Tenant) -> None:
    client = shared.client()
    shared.trail("log")
    before = datetime.now().astimezone()
    assert body(client.start_logging(Name="log")) == {}
    status = body(client.get_trail_status(Name="log"))
    assert set(status) == {"IsLogging", "StartLoggingTime", "TimeLoggingStarted"}
    assert status["IsLogging"] is True
    started = status["StartLoggingTime"]
    assert abs((started - before).total_seconds()) < 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["TimeLoggingStarted"])
    client.start_logging(Name="log")  # already logging: nothing changes
    assert client.get_trail_status(Name="log")["StartLoggingTime"] == started
    client.stop_logging(Name=shared.arn("log"))
    status = body(client.get_trail_status(Name=shared.arn("log")))
    assert status["IsLogging"] is False
    assert set(status) == {
        "IsLogging",
        "StartLoggingTime",
        "StopLoggingTime",
        "TimeLoggingStarted",
        "TimeLoggingStopped",
    }
    assert status["StopLoggingTime"] >= started
    for operation in (client.start_logging, client.stop_logging):
        expect_error("TrailNotFoundException", operation, Name="no-such-trail")
        expect_error("InvalidTrailNameException", operation, Name="a")
        expect_error("CloudTrailARNInvalidException", operation, Name="arn:aws:cloudtrail:us-east-1:x")
