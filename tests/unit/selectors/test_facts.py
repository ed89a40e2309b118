"""Selector facts decided once at ingest (``events.SelectorFacts``, ``EventRow.facts``) against the facts
the engine reads from the record bytes: they must agree for every record, or delivery would select
differently for rows stored before and after the facts were kept.

Checked over the corpus records, over generated data records (Hypothesis), and through the selector
table with the facts in the ``LogRow``; then the migrations that add the column: rows stored before it
have none and are still selected from their record.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opentrail.errors import RecordError
from opentrail.events import EventRow, Kind, SelectorFacts, decode_view, index_record, selector_facts
from opentrail.selectors import engine as selection
from opentrail.selectors import facts
from opentrail.store import LogRow, open_store
from opentrail.store.sqlite.events import event_values
from opentrail.store.sqlite.store import SQLiteStore, connect
from tests.support.selection_cases import ACCOUNT, CASES, trail_with
from tests.support.server import ROOT

SQLITE_MIGRATIONS = ROOT / "src/opentrail/store/migrations/sqlite"
POSTGRES_MIGRATIONS = ROOT / "src/opentrail/store/migrations/postgres"
SCALARS = [f for f in selection.FIELDS if not f.startswith("resources.")]


def from_record(row: EventRow) -> tuple[dict[str, str | None], list[tuple[str | None, str | None]]]:
    """Every selector field as the engine reads it from the record bytes (what rows without facts get)."""
    found = facts.facts_of(row.record, row.kind)
    return {f: found.values.get(f) for f in SCALARS}, [(r.type, r.ARN) for r in found.resources]


def from_stored(row: EventRow) -> tuple[dict[str, str | None], list[tuple[str | None, str | None]]]:
    assert row.facts is not None
    found = facts.stored_facts(row.facts, row.kind, row.read_only, row.event_source)
    return {f: found.values.get(f) for f in SCALARS}, [(r.type, r.ARN) for r in found.resources]


def log_row(row: EventRow, seq: int = 1, stored_facts: bool = True) -> LogRow:
    read_only = None if row.read_only is None else int(row.read_only)
    stored = row.facts if stored_facts else None
    return (seq, 1, int(row.kind), read_only, row.event_source, row.time_ms, row.record, stored)


def test_the_stored_layout_is_the_one_selection_reads() -> None:
    assert facts._Stored.__struct_fields__ == SelectorFacts.__struct_fields__
    assert facts._Stored.__struct_config__.array_like


def test_only_data_and_network_activity_events_get_facts() -> None:
    for case in CASES:
        for record, _ in case.events:
            row = index_record(json.dumps(record).encode(), ACCOUNT)
            assert (row.facts is not None) is (row.kind in (Kind.DATA, Kind.NETWORK)), record


# -- agreement -----------------------------------------------------------------------------------------


def test_stored_facts_agree_with_the_record_over_the_corpus() -> None:
    """The corpus holds few data events, so the facts of every record ingest accepts are checked as
    if it were one (management records carry errorCode, sessionCredentialFromConsole, vpcEndpointId
    in every shape producers write them)."""
    from tests.support.corpus import CORPUS, corpus_items

    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    data = checked = 0
    for item in corpus_items():
        try:
            row = index_record(item.raw, ACCOUNT)
        except RecordError:
            continue  # records ingest refuses are never stored
        assert (row.facts is not None) is (row.kind in (Kind.DATA, Kind.NETWORK)), item.where
        data += row.facts is not None
        view = decode_view(item.raw)
        if row.kind is Kind.INSIGHT or view.eventCategory == "ActivityAuditLog":
            continue  # eventSource and identity come from elsewhere; never data events
        resources = [(r.type, r.ARN) for r in view.resources or ()]
        as_data = row.facts or selector_facts(item.raw, view, view.userIdentity, resources)
        assert as_data is not None, item.where
        assert from_stored(msgspec.structs.replace(row, facts=as_data)) == from_record(row), item.where
        checked += 1
    assert data >= 9
    assert checked > 3000


_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
# What odd producers put in fields ingest does not check: selectors compare them as text, or as absent.
_odd = st.one_of(
    st.none(),
    _text,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)
_resource = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(st.none(), st.sampled_from(["AWS::S3::Object", "AWS::S3::Bucket"]), _text),
        "ARN": st.one_of(st.none(), _text),
        "accountId": _text,
    },
)
_MISSING = object()


@st.composite
def data_records(draw: st.DrawFn) -> bytes:
    record: dict[str, Any] = {
        "eventVersion": "1.11",
        "eventTime": "2026-01-02T03:04:05Z",
        "eventSource": draw(
            st.sampled_from(["s3.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com"])
        ),
        "eventName": draw(st.sampled_from(["GetObject", "PutObject", "Invoke"])),
        "awsRegion": "us-east-1",
        "eventID": draw(st.uuids()).hex,
    }
    category = draw(st.sampled_from(["Data", "NetworkActivity", None]))
    if category is None:
        record["managementEvent"] = False  # before eventVersion 1.07: no category
    else:
        record["eventCategory"] = category
    optional: dict[str, Any] = {
        "readOnly": st.booleans(),
        "eventType": st.sampled_from(["AwsApiCall", "AwsServiceEvent"]),
        "userIdentity": st.fixed_dictionaries({}, optional={"arn": st.one_of(st.none(), _text)}),
        "resources": st.one_of(st.none(), st.lists(_resource, max_size=3)),
        "errorCode": _odd,
        "sessionCredentialFromConsole": _odd,
        "vpcEndpointId": _odd,
    }
    for name, strategy in optional.items():
        value = draw(st.one_of(st.just(_MISSING), strategy))
        if value is not _MISSING:
            record[name] = value
    return json.dumps(record).encode()


@given(data_records())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_stored_facts_agree_with_the_record_for_generated_data_events(raw: bytes) -> None:
    row = index_record(raw, ACCOUNT)
    assert row.kind in (Kind.DATA, Kind.NETWORK)
    record = json.loads(raw)
    # Only a field of a type selectors do not expect leaves the facts to the record, read leniently.
    unexpected = (
        not isinstance(record.get("errorCode"), str | None)
        or not isinstance(record.get("vpcEndpointId"), str | None)
        or not isinstance(record.get("sessionCredentialFromConsole"), str | bool | None)
    )
    assert (row.facts is None) is unexpected
    if unexpected:
        return
    assert from_stored(row) == from_record(row)


# -- selection through stored facts --------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_selector_table_through_stored_facts(case: Any) -> None:
    picker = selection.Picker(trail_with(case.wire()))
    for index, (record, expected) in enumerate(case.events):
        row = index_record(json.dumps(record).encode(), ACCOUNT)
        assert picker(log_row(row, index + 1)) is expected, (case.name, record)
        assert picker(log_row(row, index + 1, stored_facts=False)) is expected, (case.name, record)


def test_damaged_facts_fall_back_to_the_record() -> None:
    case = next(c for c in CASES if any(r.get("eventCategory") == "Data" for r, _ in c.events))
    picker = selection.Picker(trail_with(case.wire()))
    for index, (record, expected) in enumerate(case.events):
        row = index_record(json.dumps(record).encode(), ACCOUNT)
        damaged = (*log_row(row, index + 1)[:7], b"\xc1" if row.facts else None)
        assert picker(damaged) is expected, (case.name, record)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_pickers_read_of_stored_facts_agrees_with_the_engine(case: Any) -> None:
    """The Picker tests typed rules on stored facts with a decoder of its own (``Matcher.stored``):
    every event of the table, through every trail of it, against the engine on the record's facts."""
    picker = selection.Picker(trail_with(case.wire()))
    compiled = picker.matcher
    for other in CASES:
        for index, (record, _) in enumerate(other.events):
            row = index_record(json.dumps(record).encode(), ACCOUNT)
            expected = compiled.selects(row.kind, facts.facts_of(row.record, row.kind))
            assert picker(log_row(row, index + 1)) is expected, (case.name, record)


def test_the_table_takes_the_typed_path() -> None:
    """The agreement above is not vacuous: most of the table's trails with data selectors take it."""
    typed = [c.name for c in CASES if selection.Picker(trail_with(c.wire())).typed]
    assert len(typed) >= 5, typed


@given(st.sampled_from(CASES), data_records())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_pickers_read_of_generated_data_events_agrees_with_the_engine(case: Any, raw: bytes) -> None:
    picker = selection.Picker(trail_with(case.wire()))
    row = index_record(raw, ACCOUNT)
    expected = picker.matcher.selects(row.kind, facts.facts_of(row.record, row.kind))
    assert picker(log_row(row)) is expected


# -- migrations ----------------------------------------------------------------------------------------


def _data_record(event_id: str, arn: str) -> bytes:
    return json.dumps(
        {
            "eventVersion": "1.11",
            "eventTime": "2026-01-02T03:04:05Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "awsRegion": "us-east-1",
            "eventID": event_id,
            "eventCategory": "Data",
            "readOnly": True,
            "resources": [{"type": "AWS::S3::Object", "ARN": arn}],
        }
    ).encode()


S3_TRAIL = {
    "AdvancedEventSelectors": [
        {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::wanted/"]},
            ]
        }
    ]
}


def _pair(prefix: str) -> list[EventRow]:
    """One data event the S3 trail selects, one it does not."""
    return [
        index_record(_data_record(f"{prefix}-{i}", f"arn:aws:s3:::{bucket}/k"), ACCOUNT)
        for i, bucket in enumerate(["wanted", "other"])
    ]


def _check_migrated_log(rows: list[LogRow], old: int) -> None:
    """``old`` rows stored before the column, then the same number after: the old ones have no facts
    and are selected from their record, the new ones from their facts, with the same answers."""
    assert [r[7] is None for r in rows] == [True] * old + [False] * old
    picker = selection.Picker(trail_with(S3_TRAIL))
    assert [picker(r) for r in rows] == [True, False] * old


def test_a_version_3_sqlite_database_migrates_and_keeps_its_rows_without_facts(tmp_path: Path) -> None:
    db = tmp_path / "v3.db"
    conn = connect(str(db))
    for path in sorted(SQLITE_MIGRATIONS.glob("*.sql"))[:3]:
        number = int(path.name.split("_", 1)[0])
        conn.executescript(f"BEGIN;\n{path.read_text()}\nPRAGMA user_version={number};\nCOMMIT;")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.execute("INSERT INTO streams (id, account, region) VALUES (1, ?, 'us-east-1')", (ACCOUNT,))
    old = _pair("old")
    conn.executemany(
        "INSERT INTO events (seq, stream, acct, kind, time, event_id, event_name, event_source, read_only, "
        "username, access_key, record, resources) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(seq, *event_values(1, row)[:-1]) for seq, row in enumerate(old, start=1)],
    )
    conn.execute("INSERT INTO day_marks (day, first_seq) VALUES (0, 1)")
    conn.close()
    store = SQLiteStore(str(db))
    try:
        assert store.count_events() == 2
        new = _pair("new")
        store.append(new)
        _check_migrated_log(store.read_log(ACCOUNT, 0, 100).rows, 2)
    finally:
        store.close()
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == 4


def test_a_version_2_postgres_database_migrates_and_keeps_its_rows_without_facts(
    postgres_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from opentrail.store.postgres import append as postgres_append
    from opentrail.store.postgres import partitions as postgres_partitions
    from opentrail.store.postgres import store as postgres

    url: str = postgres_cluster.new_database()
    try:
        shipped = postgres.migrations()
        old = _pair("old")
        with psycopg.connect(url, autocommit=True) as conn:
            monkeypatch.setattr(postgres, "migrations", lambda: [m for m in shipped if m[0] <= 2])
            assert postgres.migrate(conn) == 2
            monkeypatch.undo()
            day = old[0].time_ms // 1000 // 86400
            for statement in postgres_partitions.partition_sql(day, ("events", "event_attrs")):
                conn.execute(statement)
            found = conn.execute(
                "INSERT INTO streams (account, region) VALUES (%s, 'us-east-1') RETURNING id", (ACCOUNT,)
            ).fetchone()
            assert found is not None
            for seq, row in enumerate(old, start=1):
                values = postgres_append.staged(seq, found[0], row)
                conn.execute(
                    "INSERT INTO events (day, seq, stream, acct, kind, time, event_id, event_name, "
                    "event_source, read_only, username, access_key, record, resources) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (day, *values[:-1]),
                )
                conn.execute(
                    "INSERT INTO event_keys (acct, event_id, time, day, seq) VALUES (%s, %s, %s, %s, %s)",
                    (int(ACCOUNT), row.event_id.encode(), row.time_ms, day, seq),
                )
            conn.execute(
                "INSERT INTO day_spans VALUES (%s, %s, %s, 1, 2)", (day, old[0].time_ms, old[0].time_ms)
            )
            conn.execute("UPDATE log_state SET high = 2")
        store = open_store(url)
        try:
            new = _pair("new")
            store.append(new)
            _check_migrated_log(store.read_log(ACCOUNT, 0, 100).rows, 2)
        finally:
            store.close()
        with psycopg.connect(url) as conn:
            versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == [n for n, _ in shipped]
    finally:
        postgres_cluster.drop_database(url)
