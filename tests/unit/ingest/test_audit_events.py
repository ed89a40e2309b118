"""PutAuditEvents' channel checks, and the ingestion status it keeps on the channel
(``ingest/audit_events.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail import errors
from opentrail.clock import FixedClock
from opentrail.ingest import audit_events
from opentrail.trails import channels
from tests.support.calls import Env
from tests.support.channel_calls import OTHER, OWNER, channel_env, create
from tests.support.services import START


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START + 0.5)


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    yield from channel_env(tmp_path, clock)


def put(env: Env, query: dict[str, str], body: bytes, account: str = OWNER) -> dict[str, Any]:
    return asyncio.run(audit_events.put_audit_events(env.call(account), query, body))


def test_put_audit_events_refuses_another_accounts_channel_whether_or_not_it_exists(env: Env) -> None:
    arn = create(env, "target")["ChannelArn"]
    for named in (arn, arn.replace("channel-0000", "no-such-channel")):
        with pytest.raises(errors.ChannelInsufficientPermission, match=f"account {OTHER} cannot put events"):
            put(env, {"channelArn": named}, b"{}", account=OTHER)
    with pytest.raises(errors.DataChannelNotFound):
        put(env, {"channelArn": "no-such-channel"}, b"{}")
    with pytest.raises(errors.ValidationException, match="channelArn is required"):
        put(env, {}, b"{}")
    with pytest.raises(errors.InvalidChannelARN):
        put(env, {"channelArn": "a b"}, b"{}")
    with pytest.raises(errors.ValidationException, match="externalId must be 2-1224 characters"):
        put(env, {"channelArn": arn, "externalId": "x"}, b"{}")


def test_a_refused_request_is_recorded_in_the_ingestion_status(env: Env) -> None:
    arn = create(env, "status")["ChannelArn"]
    with pytest.raises(errors.ApiError) as caught:
        put(env, {"channelArn": arn}, b"not json")
    status = channels.get_channel(env.call(OWNER), {"Channel": arn})["IngestionStatus"]
    assert status == {
        "LatestIngestionAttemptTime": START + 0.5,
        "LatestIngestionErrorCode": caught.value.code,
    }


def test_note_ingestion_keeps_the_last_success(env: Env) -> None:
    arn = create(env, "noted")["ChannelArn"]
    doc = env.store.get_doc(channels.KIND, OWNER, arn)
    assert doc is not None
    audit_events.note_ingestion(env.store, doc, 100.1234, "e1", "e1", None)
    audit_events.note_ingestion(env.store, doc, 200.0, None, None, "ValidationException")
    assert channels.get_channel(env.call(OWNER), {"Channel": arn})["IngestionStatus"] == {
        "LatestIngestionAttemptTime": 200.0,
        "LatestIngestionSuccessTime": 100.123,
        "LatestIngestionSuccessEventID": "e1",
        "LatestIngestionErrorCode": "ValidationException",
    }
    env.store.delete_doc(channels.KIND, OWNER, arn)
    audit_events.note_ingestion(env.store, doc, 300.0, "e2", "e2", None)  # deleted meanwhile: nothing to note
