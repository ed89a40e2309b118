"""Native batch ingest: full CloudTrail records, as a log file holds them (``{"Records": [...]}``).

A log file from a real CloudTrail bucket can be replayed as is. Each record is validated on its own: bad
records are reported with their index and reason, the good ones of the same call are stored, and the
call returns only once they are durable. Events land in the caller's account unless the call names
another account that granted the caller write access.

Data and network activity events that no logging trail of the account selects are accepted but not
stored, as CloudTrail does not record them (DESIGN.md rule 5): ``accepted`` counts every valid record,
stored or not, and they are not failures.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from opentrail.context import Call
from opentrail.errors import AccessDeniedException, RecordError, SerializationException, ValidationException
from opentrail.events import EventRow, EventTimes
from opentrail.ingest.coverage import Coverage
from opentrail.ingest.records import index_record

MAX_RECORDS_PER_CALL = 10_000
_INLINE_RECORDS = 500  # larger batches are parsed off the event loop


class _Batch(msgspec.Struct):
    Records: list[msgspec.Raw]


class _Id(msgspec.Struct):
    eventID: Any = None


_batch_decoder = msgspec.json.Decoder(_Batch)
_id_decoder = msgspec.json.Decoder(_Id)


def target_account(call: Call, requested: str | None) -> str:
    """The account whose streams receive the events: the caller's, or one that granted it access."""
    if not requested or requested == call.account:
        return call.account
    store = call.store
    if store.get_account(requested) is None or not store.has_grant(call.account, requested):
        raise AccessDeniedException(
            f"account {call.account} may not write events for account {requested}: no grant exists "
            f"(the owner of {requested} can add one with `opentrail account grant`)"
        )
    return requested


def decode_batch(body: bytes) -> list[bytes]:
    try:
        batch = _batch_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise SerializationException(f'request body must be {{"Records": [record, ...]}}: {exc}') from None
    except msgspec.DecodeError as exc:
        raise SerializationException(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise SerializationException("request body is nested too deeply to be a batch of records") from None
    if len(batch.Records) > MAX_RECORDS_PER_CALL:
        raise ValidationException(
            f"Records holds {len(batch.Records)} records; at most {MAX_RECORDS_PER_CALL} per call"
        )
    return [bytes(raw) for raw in batch.Records]


def _event_id(raw: bytes) -> str | None:
    try:
        value = _id_decoder.decode(raw).eventID
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, str) else None


def index_all(
    records: list[bytes], account: str, coverage: Coverage, times: EventTimes
) -> tuple[list[EventRow], int, list[dict[str, Any]]]:
    """The rows to store, how many records were valid (stored or dropped as unselected), the failures."""
    rows: list[EventRow] = []
    failed: list[dict[str, Any]] = []
    for index, raw in enumerate(records):
        try:
            rows.append(index_record(raw, account, times))
        except RecordError as err:
            failed.append(
                {
                    "index": index,
                    "eventID": _event_id(raw),
                    "errorCode": err.code,
                    "errorMessage": err.message,
                }
            )
    return coverage.drop_unselected(rows), len(rows), failed


async def ingest_records(call: Call, query: dict[str, str], body: bytes) -> dict[str, Any]:
    account = target_account(call, query.get("accountId"))
    records = decode_batch(body)
    services = call.services
    if len(records) > _INLINE_RECORDS:
        rows, valid, failed = await run_in_threadpool(
            index_all, records, account, services.coverage, services.event_times
        )
    else:
        rows, valid, failed = index_all(records, account, services.coverage, services.event_times)
    if rows:
        await asyncio.wrap_future(call.store.submit(rows))
    return {"accepted": valid, "failed": failed, "_accepted": valid}
