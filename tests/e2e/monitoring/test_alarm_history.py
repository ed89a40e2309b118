"""DescribeAlarmHistory over the wire in each protocol: the ConfigurationUpdate and StateUpdate items
CloudWatch writes (summaries and HistoryData), newest or oldest first (ScanBy), between two dates given
as datetimes, and in pages (MaxRecords, NextToken); item timestamps come back as datetimes that select
their own item again."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from tests.support.alarms import alarm, aware, refusal, unique


def items(cloudwatch: Any, **params: Any) -> list[dict[str, Any]]:
    return list(cloudwatch.describe_alarm_history(**params)["AlarmHistoryItems"])


def made(cloudwatch: Any) -> str:
    """An alarm created, updated and put in ALARM then OK: four items, oldest first."""
    name = unique("history")
    cloudwatch.put_metric_alarm(**alarm(name, AlarmDescription="first"))
    cloudwatch.put_metric_alarm(**alarm(name, AlarmDescription="second", Threshold=5.0))
    cloudwatch.set_alarm_state(
        AlarmName=name, StateValue="ALARM", StateReason="paged", StateReasonData='{"by":"test"}'
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="recovered")
    return name


def test_configuration_and_state_items(cloudwatch: Any) -> None:
    name = made(cloudwatch)
    found = items(cloudwatch, AlarmName=name)
    assert [(i["HistoryItemType"], i["HistorySummary"]) for i in found] == [
        ("StateUpdate", "Alarm updated from ALARM to OK"),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("ConfigurationUpdate", f'Alarm "{name}" updated'),
        ("ConfigurationUpdate", f'Alarm "{name}" created'),
    ]
    assert {(i["AlarmName"], i["AlarmType"]) for i in found} == {(name, "MetricAlarm")}
    stamps = [aware(i["Timestamp"]) for i in found]
    assert stamps == sorted(stamps, reverse=True)
    assert abs(stamps[0].timestamp() - time.time()) < 60
    ok, alarmed, updated, created = (json.loads(i["HistoryData"]) for i in found)
    assert alarmed == {
        "version": "1.0",
        "oldState": {"stateValue": "INSUFFICIENT_DATA", "stateReason": "Unchecked: Initial alarm creation"},
        "newState": {"stateValue": "ALARM", "stateReason": "paged", "stateReasonData": {"by": "test"}},
    }
    assert ok["oldState"] == {"stateValue": "ALARM", "stateReason": "paged"}
    assert ok["newState"] == {"stateValue": "OK", "stateReason": "recovered"}
    assert (created["type"], created["createdAlarm"]["alarmDescription"]) == ("Create", "first")
    assert created["createdAlarm"]["stateValue"] == "INSUFFICIENT_DATA"
    assert (updated["type"], updated["updatedAlarm"]["alarmDescription"]) == ("Update", "second")
    assert updated["originalAlarm"]["alarmDescription"] == "first"
    only_state = items(cloudwatch, AlarmName=name, HistoryItemType="StateUpdate")
    assert only_state == found[:2]
    oldest_first = items(cloudwatch, AlarmName=name, ScanBy="TimestampAscending")
    assert oldest_first == list(reversed(found))
    assert items(cloudwatch, AlarmName=name, HistoryItemType="Action") == []
    assert items(cloudwatch, AlarmName=name, AlarmTypes=["CompositeAlarm"]) == []
    assert items(cloudwatch, AlarmName=name, AlarmContributorId="c1") == []  # no contributor alarms here


def test_dates_select_items_by_their_own_timestamps(cloudwatch: Any) -> None:
    name = made(cloudwatch)
    found = items(cloudwatch, AlarmName=name, ScanBy="TimestampAscending")
    second, third = found[1]["Timestamp"], found[2]["Timestamp"]
    # The timestamps as this protocol carried them select the items they came with (inclusive bounds).
    between = items(cloudwatch, AlarmName=name, StartDate=second, EndDate=third, ScanBy="TimestampAscending")
    assert between == found[1:3]
    since = items(cloudwatch, AlarmName=name, StartDate=third, ScanBy="TimestampAscending")
    assert since == found[2:]
    until = items(cloudwatch, AlarmName=name, EndDate=second, ScanBy="TimestampAscending")
    assert until == found[:2]
    later = aware(found[-1]["Timestamp"]) + timedelta(hours=1)
    assert items(cloudwatch, AlarmName=name, StartDate=later) == []


def test_history_pages(cloudwatch: Any) -> None:
    name = made(cloudwatch)
    whole = items(cloudwatch, AlarmName=name)
    for scan, expected in (("TimestampDescending", whole), ("TimestampAscending", whole[::-1])):
        pages, token = [], None
        while True:
            page = cloudwatch.describe_alarm_history(
                AlarmName=name, MaxRecords=3, ScanBy=scan, **({"NextToken": token} if token else {})
            )
            pages.append(page["AlarmHistoryItems"])
            token = page.get("NextToken")
            if token is None:
                break
        assert [len(p) for p in pages] == [3, 1]
        assert [i for p in pages for i in p] == expected
    first = cloudwatch.describe_alarm_history(AlarmName=name, MaxRecords=1)
    code, status, _ = refusal(
        cloudwatch.describe_alarm_history,
        AlarmName=name,
        HistoryItemType="StateUpdate",
        MaxRecords=1,
        NextToken=first["NextToken"],
    )
    assert (code, status) == ("InvalidNextToken", 400)


def test_history_of_every_alarm_of_the_account(cloudwatch: Any) -> None:
    name = made(cloudwatch)
    newest = items(cloudwatch, MaxRecords=100)
    assert [i["AlarmName"] for i in newest[:4]] == [name] * 4
