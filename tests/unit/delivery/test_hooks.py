"""What trail changes do to delivery states (``delivery/hooks.py``), on a real store: StartLogging starts
delivering only what is committed after it, StopLogging and DeleteTrail set how far delivery must
finish, an organization's membership starts and ends its members' states, and the notifier's outcomes
become GetTrailStatus's notification facts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from opentrail.delivery.hooks import DeliveryHooks
from opentrail.delivery.notifications import Notice, Outcome
from opentrail.delivery.state import KIND, State, load_state
from opentrail.ingest.records import index_record
from opentrail.organizations import model as organizations
from opentrail.store import Store
from opentrail.trails.model import Trail, to_doc
from tests.support.documents import member, put_organization
from tests.support.server import management_record
from tests.support.services import sqlite_store

OWNER, MEMBER, LATER = "111111111111", "222222222222", "333333333333"
ARN = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/t1"
TRAIL = Trail(
    name="t1",
    trail_arn=ARN,
    home_region="us-east-1",
    s3_bucket_name="b",
    is_logging=True,
    start_logging_time=10.0,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def ingest(store: Store, account: str, count: int) -> int:
    """Commit ``count`` events of ``account``; the store's high sequence after them."""
    store.append(
        [index_record(json.dumps(management_record(account)).encode(), account) for _ in range(count)]
    )
    return store.high_sequence()


def state(store: Store, account: str = OWNER) -> State | None:
    doc = store.get_doc(KIND, account, ARN)
    return None if doc is None else load_state(doc)


def test_start_delivers_only_what_is_committed_after_it(store: Store) -> None:
    high = ingest(store, OWNER, 3)
    DeliveryHooks(store).logging_started(OWNER, TRAIL)
    started = state(store)
    assert started is not None
    assert (started.cursor, started.started, started.until, started.member) == (high, 10.0, None, None)
    assert started.trail == msgspec.to_builtins(TRAIL)


def test_stop_sets_how_far_delivery_finishes(store: Store) -> None:
    hooks = DeliveryHooks(store)
    hooks.logging_started(OWNER, TRAIL)
    high = ingest(store, OWNER, 2)
    stopped_trail = msgspec.structs.replace(TRAIL, is_logging=False)
    hooks.logging_stopped(OWNER, TRAIL)
    stopped = state(store)
    assert stopped is not None
    assert (stopped.until, stopped.deleted) == (high, False)
    # A later DeleteTrail of the stopped trail has nothing left to deliver: the stop's end stays.
    ingest(store, OWNER, 2)
    hooks.logging_stopped(OWNER, stopped_trail, deleted=True)
    deleted = state(store)
    assert deleted is not None
    assert (deleted.until, deleted.deleted, deleted.trail["IsLogging"]) == (high, True, False)


def test_stopping_a_trail_that_never_logged_is_nothing(store: Store) -> None:
    DeliveryHooks(store).logging_stopped(OWNER, TRAIL, deleted=True)
    assert state(store) is None


def test_a_restart_with_nothing_left_to_finish_starts_over(store: Store) -> None:
    hooks = DeliveryHooks(store)
    hooks.logging_started(OWNER, TRAIL)
    high = ingest(store, OWNER, 4)
    again = msgspec.structs.replace(TRAIL, start_logging_time=20.0)
    hooks.logging_started(OWNER, again)
    restarted = state(store)
    assert restarted is not None
    assert (restarted.cursor, restarted.started, restarted.resume, restarted.generation) == (
        high,
        20.0,
        None,
        1,
    )


def test_a_restart_before_the_stop_is_finished_resumes_after_it(store: Store) -> None:
    hooks = DeliveryHooks(store)
    hooks.logging_started(OWNER, TRAIL)
    until = ingest(store, OWNER, 2)
    hooks.logging_stopped(OWNER, TRAIL)
    high = ingest(store, OWNER, 3)  # events of the stopped interval: skipped, as CloudTrail does
    hooks.logging_started(OWNER, msgspec.structs.replace(TRAIL, start_logging_time=20.0))
    restarted = state(store)
    assert restarted is not None
    assert (restarted.cursor, restarted.until, restarted.resume, restarted.started) == (0, until, high, 20.0)
    assert restarted.generation == 1


ORG_TRAIL = msgspec.structs.replace(TRAIL, is_organization_trail=True, organization_id="o-abcdefghij")


def test_an_organization_trail_has_a_state_per_covered_account(store: Store) -> None:
    put_organization(store, OWNER, MEMBER)
    DeliveryHooks(store).logging_started(OWNER, ORG_TRAIL)
    own, member = state(store, OWNER), state(store, MEMBER)
    assert own is not None
    assert member is not None
    assert (own.member, member.member) == (None, MEMBER)
    DeliveryHooks(store).logging_stopped(OWNER, ORG_TRAIL)
    for account in (OWNER, MEMBER):
        stopped = state(store, account)
        assert stopped is not None
        assert stopped.until is not None


def test_cover_follows_the_organizations_membership(store: Store) -> None:
    org = put_organization(store, OWNER, MEMBER)
    store.insert_doc(to_doc(ORG_TRAIL, OWNER))
    hooks = DeliveryHooks(store)
    hooks.logging_started(OWNER, ORG_TRAIL)
    high = ingest(store, LATER, 2)
    org.members = [m for m in org.members if m.id != MEMBER]
    org.members.append(member(LATER, joined=1))
    store.update_doc(organizations.KIND, OWNER, org.arn, lambda _doc: organizations.to_doc(org))
    hooks.cover_all()
    joined, left = state(store, LATER), state(store, MEMBER)
    assert joined is not None
    assert (joined.cursor, joined.member) == (high, LATER)  # its events from now on
    assert left is not None
    assert (left.until, left.deleted) == (high, True)  # its last files and final digest, then it goes
    # Covered again before its leave was finished: it delivers from now on, after the leave's last files.
    org.members.append(member(MEMBER, joined=2))
    store.update_doc(organizations.KIND, OWNER, org.arn, lambda _doc: organizations.to_doc(org))
    again_high = ingest(store, MEMBER, 1)
    hooks.cover(ORG_TRAIL)
    rejoined = state(store, MEMBER)
    assert rejoined is not None
    assert (rejoined.until, rejoined.resume) == (high, again_high)


def test_cover_starts_nothing_for_a_trail_that_is_not_logging(store: Store) -> None:
    put_organization(store, OWNER, MEMBER)
    DeliveryHooks(store).cover(msgspec.structs.replace(ORG_TRAIL, is_logging=False))
    assert state(store, MEMBER) is None


NOTICE = Notice(OWNER, ARN, f"arn:aws:sns:us-east-1:{OWNER}:topic", "b", ("k1",))


def test_notification_outcomes_become_status_facts(store: Store) -> None:
    hooks = DeliveryHooks(store)
    assert hooks.status(OWNER, ARN) == {}
    hooks.logging_started(OWNER, TRAIL)
    hooks.record_notification(NOTICE, Outcome(at=1_704_067_200.5, error="EndpointError: HTTP 500"))
    assert hooks.status(OWNER, ARN) == {
        "LatestNotificationAttemptTime": "2024-01-01T00:00:00Z",
        "LatestNotificationError": "EndpointError: HTTP 500",
    }
    hooks.record_notification(NOTICE, Outcome(at=1_704_067_260.25))
    assert hooks.status(OWNER, ARN) == {
        "LatestNotificationAttemptTime": "2024-01-01T00:01:00Z",
        "LatestNotificationTime": 1_704_067_260.25,
        "LatestNotificationAttemptSucceeded": "2024-01-01T00:01:00Z",
    }


def test_an_outcome_for_a_state_that_is_gone_is_a_key_error(store: Store) -> None:
    with pytest.raises(KeyError):
        DeliveryHooks(store).record_notification(NOTICE, Outcome(at=1.0))
