"""Selector facts decided once at ingest (``facts.SelectorFacts``, ``EventRow.facts``) against the facts
the engine reads from the record bytes: they must agree for every record, or delivery would select
differently for rows stored before and after the facts were kept.

Checked over the corpus records and over generated data records (Hypothesis) (the picker's own read of
stored facts is checked in test_picker.py); then the migrations that add the column: rows stored
before it have none and are still selected from their record.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from opentrail.errors import RecordError
from opentrail.events import EventRow, Kind, decode_view
from opentrail.ingest.records import index_record
from opentrail.selectors import facts
from opentrail.selectors.facts import SelectorFacts, selector_facts
from opentrail.selectors.picker import Picker
from opentrail.store import LogRow, open_store
from opentrail.store.sqlite.events import event_values
from opentrail.store.sqlite.store import SQLiteStore, connect
from tests.support.data_events import data_records
from tests.support.selection_cases import ACCOUNT, trail_with
from tests.support.server import ROOT

SQLITE_MIGRATIONS = ROOT / "src/opentrail/store/migrations/sqlite"
POSTGRES_MIGRATIONS = ROOT / "src/opentrail/store/migrations/postgres"
SCALARS = [f for f in facts.FIELDS if not f.startswith("resources.")]


def from_record(row: EventRow) -> tuple[dict[str, str | None], list[tuple[str | None, str | None]]]:
    """Every selector field as the engine reads it from the record bytes (what rows without facts get)."""
    found = facts.facts_of(row.record, row.kind)
    return {f: found.values.get(f) for f in SCALARS}, [(r.type, r.ARN) for r in found.resources]


def from_stored(row: EventRow) -> tuple[dict[str, str | None], list[tuple[str | None, str | None]]]:
    assert row.facts is not None
    found = facts.stored_facts(row.facts, row.kind, row.read_only, row.event_source)
    return {f: found.values.get(f) for f in SCALARS}, [(r.type, r.ARN) for r in found.resources]


def test_the_stored_layout_is_the_one_selection_reads() -> None:
    assert facts.StoredSelectorFacts.__struct_fields__ == SelectorFacts.__struct_fields__
    assert facts.StoredSelectorFacts.__struct_config__.array_like


def test_a_record_with_odd_shapes_is_read_leniently() -> None:
    """A stored record whose nested members are not what the decoder expects is still decided."""
    found = facts.facts_of(b'{"eventName":"GetObject","userIdentity":"x","resources":[1,{"type":"T"}]}', 1)
    assert found.values["eventName"] == "GetObject"
    assert found.values["userIdentity.arn"] is None
    assert [(r.type, r.ARN) for r in found.resources] == [("T", None)]


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
        as_data = row.facts or selector_facts(item.raw, view, resources)
        assert as_data is not None, item.where
        assert from_stored(msgspec.structs.replace(row, facts=as_data)) == from_record(row), item.where
        checked += 1
    assert data >= 9
    assert checked > 3000


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
    picker = Picker(trail_with(S3_TRAIL))
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
        # Migrated to the newest schema the package ships.
        newest = max(int(path.name.split("_", 1)[0]) for path in SQLITE_MIGRATIONS.glob("*.sql"))
        assert check.execute("PRAGMA user_version").fetchone()[0] == newest


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
