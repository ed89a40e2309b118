"""Delivery's ``Picker`` (``opentrail.selectors.picker``): the trail-level rules (global service events)
and its own read of the selector facts ingest stored, held to the engine on the record's facts: through
the selector table, damaged facts, and generated data events (Hypothesis).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.events import EventRow
from opentrail.ingest.records import index_record
from opentrail.selectors import facts
from opentrail.selectors.picker import GLOBAL_SERVICE_SOURCES, Picker, account_of, log_of, matcher
from opentrail.store import LogRow
from tests.support.data_events import data_records
from tests.support.selection_cases import ACCOUNT, CASES, management, trail_with


def log_row(row: EventRow, seq: int = 1, stored_facts: bool = True) -> LogRow:
    read_only = None if row.read_only is None else int(row.read_only)
    stored = row.facts if stored_facts else None
    return (seq, 1, int(row.kind), read_only, row.event_source, row.time_ms, row.record, stored)


def row_of(record: dict[str, Any]) -> LogRow:
    """The row delivery reads of ``record``, as ingest stores it."""
    return log_row(index_record(json.dumps(record).encode(), ACCOUNT))


# -- global service events -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "iam_selected"),
    [
        ({"include_global_service_events": True}, True),
        ({"include_global_service_events": False}, False),
        ({"include_global_service_events": False, "home_region": "eu-west-1"}, True),
    ],
)
def test_global_service_events_follow_the_trail_flag(members: dict[str, Any], iam_selected: bool) -> None:
    picker = Picker(trail_with({"EventSelectors": [{}]}, **members))
    assert picker(row_of(management(eventSource="iam.amazonaws.com", eventName="CreateUser"))) is iam_selected
    assert picker(row_of(management(eventSource="sts.amazonaws.com", eventName="AssumeRole"))) is iam_selected
    assert picker(row_of(management())) is True


# -- selection through stored facts --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_selector_table_through_stored_facts(case: Any) -> None:
    picker = Picker(trail_with(case.wire()))
    for index, (record, expected) in enumerate(case.events):
        row = index_record(json.dumps(record).encode(), ACCOUNT)
        assert picker(log_row(row, index + 1)) is expected, (case.name, record)
        assert picker(log_row(row, index + 1, stored_facts=False)) is expected, (case.name, record)


def test_damaged_facts_fall_back_to_the_record() -> None:
    case = next(c for c in CASES if any(r.get("eventCategory") == "Data" for r, _ in c.events))
    picker = Picker(trail_with(case.wire()))
    for index, (record, expected) in enumerate(case.events):
        row = index_record(json.dumps(record).encode(), ACCOUNT)
        damaged = (*log_row(row, index + 1)[:7], b"\xc1" if row.facts else None)
        assert picker(damaged) is expected, (case.name, record)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pickers_read_of_stored_facts_agrees_with_the_engine(case: Any) -> None:
    """The Picker tests typed rules on stored facts with a decoder of its own (``Matcher.stored``):
    every event of the table, through every trail of it, against the engine on the record's facts."""
    picker = Picker(trail_with(case.wire()))
    compiled = picker.matcher
    for other in CASES:
        for index, (record, _) in enumerate(other.events):
            row = index_record(json.dumps(record).encode(), ACCOUNT)
            expected = compiled.selects(row.kind, facts.facts_of(row.record, row.kind))
            assert picker(log_row(row, index + 1)) is expected, (case.name, record)


def test_the_table_takes_the_typed_path() -> None:
    """The agreement above is not vacuous: most of the table's trails with data selectors take it."""
    typed = [c.name for c in CASES if Picker(trail_with(c.wire())).typed]
    assert len(typed) >= 5, typed


@given(st.sampled_from(CASES), data_records())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_pickers_read_of_generated_data_events_agrees_with_the_engine(case: Any, raw: bytes) -> None:
    picker = Picker(trail_with(case.wire()))
    row = index_record(raw, ACCOUNT)
    expected = picker.matcher.selects(row.kind, facts.facts_of(row.record, row.kind))
    assert picker(log_row(row)) is expected


# -- the trail's log, owner and compiled selection ------------------------------------------------------


def test_the_log_a_trail_reads_and_its_owner() -> None:
    single = trail_with({"EventSelectors": [{}]}, home_region="eu-west-1")
    multi = msgspec.structs.replace(single, is_multi_region_trail=True)
    assert account_of(single) == ACCOUNT
    assert log_of(single) == (ACCOUNT, "eu-west-1")
    assert log_of(multi) == (ACCOUNT, None)
    assert log_of(multi, "210987654321") == ("210987654321", None)


def test_a_configuration_is_compiled_once() -> None:
    """Equal selections share one compiled matcher; another selection, or other excluded sources
    (IncludeGlobalServiceEvents), get their own."""
    wire = {"EventSelectors": [{"ReadWriteType": "WriteOnly"}]}
    first = matcher(trail_with(wire))
    assert matcher(trail_with(wire)) is first
    assert matcher(trail_with({"EventSelectors": [{}]})) is not first
    without_global = matcher(trail_with(wire, include_global_service_events=False))
    assert without_global is not first
    assert without_global.excluded_sources == GLOBAL_SERVICE_SOURCES
