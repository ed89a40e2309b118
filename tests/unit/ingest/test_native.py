"""Native batch ingest (``ingest/native.py``) in process, on a real store: what a request body must be, whose
account the events enter, and what a call answers (docs/api.md, "Native ingest: IngestRecords"): every
valid record counted as accepted, each bad one reported by its index with the reason, the good ones of the
same call stored byte for byte, data events no logging trail selects accepted but never stored.
tests/e2e/test_put_events.py sends log files through the real server with ``opentrail put-events``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail import errors
from opentrail.ingest import native
from opentrail.selectors.parsing import parse_event_selectors
from opentrail.store import Account
from tests.support.calls import Env
from tests.support.documents import put_trail
from tests.support.selection_cases import OBJECT_A, OBJECT_B, management, s3_object
from tests.support.services import START, open_env
from tests.support.store import everything

OWNER, WRITER = "111111111111", "222222222222"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        for account in (OWNER, WRITER):
            env.store.add_account(Account(account, account, START))
        yield env


def batch(*records: dict[str, Any] | bytes) -> bytes:
    raws = [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return b'{"Records": [' + b", ".join(raws) + b"]}"


def ingest(
    env: Env, body: bytes, account: str = OWNER, query: dict[str, str] | None = None
) -> dict[str, Any]:
    return asyncio.run(native.ingest_records(env.call(account), query or {}, body))


def stored(env: Env) -> list[tuple[str, str, bytes]]:
    return [(e.row.account, e.row.event_id, e.row.record) for e in everything(env.store)]


# -- the request body --------------------------------------------------------------------------------------


def test_a_batch_is_its_records_exactly_as_sent() -> None:
    """Each record is sliced out of the body as it came, spacing and member order included."""
    first = b'{ "eventID" : "e-1",\n  "eventVersion": "1.11" }'
    second = b'{"b":2,"a":1}'
    assert native.decode_batch(b'{"Records": [' + first + b" ,\n" + second + b"]}") == [first, second]
    assert native.decode_batch(b'{"Records": []}') == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", 'must be {"Records": [record, ...]}'),
        (b"{}", 'must be {"Records": [record, ...]}'),
        (b'{"Records": {}}', 'must be {"Records": [record, ...]}'),
        (b'{"Records": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "nested too deeply"),
    ],
)
def test_a_body_that_is_not_a_batch_is_a_serialization_error(body: bytes, says: str) -> None:
    with pytest.raises(errors.SerializationException) as info:
        native.decode_batch(body)
    assert says in info.value.message


def test_at_most_10000_records_a_call() -> None:
    assert len(native.decode_batch(batch(*[{}] * 10_000))) == 10_000
    with pytest.raises(errors.ValidationException, match="Records holds 10001 records; at most 10000"):
        native.decode_batch(batch(*[{}] * 10_001))


# -- whose events ------------------------------------------------------------------------------------------


def test_events_enter_the_callers_account(env: Env) -> None:
    call = env.call(OWNER)
    assert native.target_account(call, None) == OWNER
    assert native.target_account(call, "") == OWNER
    assert native.target_account(call, OWNER) == OWNER  # naming oneself needs no grant


def test_another_account_needs_its_grant(env: Env) -> None:
    with pytest.raises(errors.AccessDeniedException) as info:
        native.target_account(env.call(WRITER), OWNER)
    assert info.value.status == 403
    assert f"account {WRITER} may not write events for account {OWNER}" in info.value.message
    assert "opentrail account grant" in info.value.message
    env.store.add_grant(WRITER, OWNER)
    assert native.target_account(env.call(WRITER), OWNER) == OWNER
    with pytest.raises(errors.AccessDeniedException):
        native.target_account(env.call(OWNER), WRITER)  # a grant goes one way


def test_an_account_that_does_not_exist_is_refused_like_one_without_a_grant(env: Env) -> None:
    with pytest.raises(errors.AccessDeniedException, match="no grant exists"):
        native.target_account(env.call(OWNER), "999999999999")


def test_a_granted_account_receives_the_events(env: Env) -> None:
    env.store.add_grant(WRITER, OWNER)
    ingest(env, batch(management(eventID="e-1")), account=WRITER, query={"accountId": OWNER})
    assert [(account, event_id) for account, event_id, _ in stored(env)] == [(OWNER, "e-1")]


# -- what a call answers and stores ------------------------------------------------------------------------


def test_good_records_are_stored_byte_for_byte_and_bad_ones_reported(env: Env) -> None:
    good = json.dumps(management(eventID="e-1"), indent=1).encode()
    result = ingest(
        env,
        batch(
            good,
            management(eventID="e-2", eventTime="yesterday"),
            management(eventID=None),
            management(eventID=7, eventName="NotAString"),
            b"[1, 2]",
            management(eventID="e-3"),
        ),
    )
    assert result["accepted"] == result["_accepted"] == 2
    failed = result["failed"]
    assert [(f["index"], f["eventID"], f["errorCode"]) for f in failed] == [
        (1, "e-2", "InvalidData"),
        (2, None, "FieldNotFound"),
        (3, None, "InvalidData"),  # an eventID that is not text is not echoed
        (4, None, "InvalidData"),
    ]
    assert "ISO-8601" in failed[0]["errorMessage"]
    assert "eventID" in failed[1]["errorMessage"]
    assert [(event_id, record) for _, event_id, record in stored(env)] == [
        ("e-1", good),
        ("e-3", json.dumps(management(eventID="e-3")).encode()),
    ]


def test_data_events_no_logging_trail_selects_are_accepted_but_not_stored(env: Env) -> None:
    selection = parse_event_selectors(
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket-a/"]}]}]
    )
    put_trail(env.store, OWNER, "objects", event_selection=selection, is_logging=True)
    records = [
        s3_object(OBJECT_A, eventID="selected"),
        s3_object(OBJECT_B, eventID="not-selected"),
        management(eventID="management"),
    ]
    result = ingest(env, batch(*records))
    assert (result["accepted"], result["failed"]) == (3, [])
    assert [event_id for _, event_id, _ in stored(env)] == ["selected", "management"]


def test_a_trail_that_is_not_logging_selects_nothing(env: Env) -> None:
    selection = parse_event_selectors(
        [{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]
    )
    put_trail(env.store, OWNER, "stopped", event_selection=selection, is_logging=False)
    assert ingest(env, batch(s3_object(OBJECT_A, eventID="d-1")))["accepted"] == 1
    assert stored(env) == []


def test_a_large_batch_gives_the_same_answer(env: Env) -> None:
    """Batches past 500 records are read on a worker thread; the answer and what is stored are the same."""
    records = [management(eventID=f"e-{i:04d}") for i in range(600)]
    records[550] = management(eventID="bad", awsRegion="Mars")
    result = ingest(env, batch(*records))
    assert result["accepted"] == 599
    assert [(f["index"], f["eventID"]) for f in result["failed"]] == [(550, "bad")]
    assert len(stored(env)) == 599


def test_the_answer_comes_once_the_records_are_durable(env: Env) -> None:
    ingest(env, batch(management(eventID="e-1")))
    event = env.store.get_event(OWNER, "e-1")  # read straight after the call returns
    assert event is not None
    assert event.row.event_name == "RunInstances"


def test_an_empty_batch_stores_nothing(env: Env) -> None:
    assert ingest(env, batch()) == {"accepted": 0, "failed": [], "_accepted": 0}
    assert stored(env) == []
