"""What an operation is given (``context.py``): one source of random ids, the services a deployment
shares (each with listeners of its own), and a call that answers for its account, store and time and
collects the resources it touched for the audit record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.context import Services, random_id
from opentrail.trails.listeners import TrailListeners
from tests.support.calls import Env
from tests.support.services import open_env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path, FixedClock(1_704_067_200.25))


def test_random_ids_are_fresh_uuid4s() -> None:
    ids = {random_id() for _ in range(100)}
    assert len(ids) == 100
    for text in ids:
        assert uuid.UUID(text).version == 4
        assert str(uuid.UUID(text)) == text  # the canonical lower-case form records carry


def test_each_deployment_has_event_times_of_its_own(env: Env) -> None:
    services = env.services
    other = Services(
        services.settings,
        services.store,
        services.storage,
        services.clock,
        services.sealer,
        services.coverage,
        services.throttle,
        TrailListeners(),
    )
    assert other.event_times is not services.event_times
    assert other.new_id is random_id
    assert other.signer is None


def test_a_call_answers_for_its_account_store_and_time(env: Env) -> None:
    call = env.call("111122223333", "eu-west-1")
    assert (call.account, call.region) == ("111122223333", "eu-west-1")
    assert call.store is env.store
    assert call.now == 1_704_067_200.25
    assert call.resources == []


def test_touch_records_the_resource_in_the_callers_account(env: Env) -> None:
    call = env.call("111122223333")
    arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t1"
    call.touch("AWS::CloudTrail::Trail", arn)
    call.touch("AWS::CloudTrail::Channel", "arn:aws:cloudtrail:us-east-1:111122223333:channel/c1")
    assert call.resources == [
        {"accountId": "111122223333", "type": "AWS::CloudTrail::Trail", "ARN": arn},
        {
            "accountId": "111122223333",
            "type": "AWS::CloudTrail::Channel",
            "ARN": "arn:aws:cloudtrail:us-east-1:111122223333:channel/c1",
        },
    ]
    # Another call starts with nothing touched.
    assert env.call("111122223333").resources == []


def test_record_now_writes_the_calls_record_once_and_only_where_someone_audits(env: Env) -> None:
    call = env.call("111122223333")
    call.record_now()  # nobody audits this call: nothing to do
    assert not call.audited
    written: list[str] = []
    call.record_success = lambda: written.append(call.request_id)
    call.record_now()
    call.record_now()
    assert written == [call.request_id]
    assert call.audited
