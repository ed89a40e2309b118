"""The outbox (``delivery/outbox.py``): a notification is kept once per (trail, bucket, keys), claimed by
one node at a time until its claim runs out, put off only by the node that holds it, and gone once
finished; a notifier's schedule gives the next due one, earliest first, and starts again from a look at
the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.delivery import outbox
from opentrail.delivery.outbox import Pending
from opentrail.store import Store, open_store
from tests.support.databases import BACKENDS

ACCOUNT = "111122223333"
TRAIL = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/t1"
NOW = 1_704_067_200.0


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Both backends: nodes sharing one PostgreSQL claim from the same outbox."""
    opened = open_store(BACKENDS[request.param](request, tmp_path))
    try:
        yield opened
    finally:
        opened.close()


def pending(key: str = "AWSLogs/a.json.gz", due: float = NOW) -> Pending:
    return Pending(
        trail_arn=TRAIL,
        topic_arn=f"arn:aws:sns:eu-west-1:{ACCOUNT}:topic",
        bucket="bucket",
        keys=[key],
        message_id="m-1",
        created=NOW,
        due=due,
    )


def only(store: Store) -> tuple[str, str, Pending]:
    (found,) = outbox.waiting(store)
    return found


def test_a_notification_is_kept_once(store: Store) -> None:
    assert outbox.add(store, ACCOUNT, pending())
    assert not outbox.add(store, ACCOUNT, pending())  # the same file again: already waiting
    assert outbox.add(store, ACCOUNT, pending("AWSLogs/b.json.gz"))
    found = outbox.waiting(store)
    assert sorted(p.keys[0] for _, _, p in found) == ["AWSLogs/a.json.gz", "AWSLogs/b.json.gz"]
    account, ident, first = next(item for item in found if item[2].keys == ["AWSLogs/a.json.gz"])
    assert (account, ident) == (ACCOUNT, outbox.notice_id(TRAIL, "bucket", ("AWSLogs/a.json.gz",)))
    assert first == pending()


def test_one_node_holds_a_claim_until_it_runs_out(store: Store) -> None:
    outbox.add(store, ACCOUNT, pending())
    _, ident, _ = only(store)
    taken = outbox.claim(store, ACCOUNT, ident, "node-a", NOW, hold=30.0)
    assert taken is not None
    assert (taken.claimed_by, taken.claimed_until) == ("node-a", NOW + 30.0)
    assert outbox.claim(store, ACCOUNT, ident, "node-b", NOW + 29.0, hold=30.0) is None
    # The same node after a restart (same node id) takes it back at once.
    assert outbox.claim(store, ACCOUNT, ident, "node-a", NOW + 1.0, hold=30.0) is not None
    later = outbox.claim(store, ACCOUNT, ident, "node-b", NOW + 31.0, hold=30.0)
    assert later is not None
    assert later.claimed_by == "node-b"


def test_a_notification_is_not_claimed_before_it_is_due(store: Store) -> None:
    outbox.add(store, ACCOUNT, pending(due=NOW + 10))
    _, ident, _ = only(store)
    assert outbox.claim(store, ACCOUNT, ident, "node-a", NOW, hold=30.0) is None
    assert outbox.claim(store, ACCOUNT, ident, "node-a", NOW + 10, hold=30.0) is not None


def test_only_the_claiming_node_puts_it_off(store: Store) -> None:
    outbox.add(store, ACCOUNT, pending())
    _, ident, _ = only(store)
    outbox.claim(store, ACCOUNT, ident, "node-a", NOW, hold=30.0)
    outbox.postpone(store, ACCOUNT, ident, "node-b", due=NOW + 99, attempts=7)
    assert only(store)[2].claimed_by == "node-a"
    outbox.postpone(store, ACCOUNT, ident, "node-a", due=NOW + 5, attempts=1)
    put_off = only(store)[2]
    assert (put_off.due, put_off.attempts, put_off.claimed_by) == (NOW + 5, 1, None)


def test_finished_is_gone(store: Store) -> None:
    outbox.add(store, ACCOUNT, pending())
    _, ident, _ = only(store)
    outbox.finish(store, ACCOUNT, ident)
    assert outbox.waiting(store) == []
    assert outbox.claim(store, ACCOUNT, ident, "node-a", NOW, hold=30.0) is None
    outbox.postpone(store, ACCOUNT, ident, "node-a", due=NOW, attempts=1)  # nothing left to put off
    assert outbox.waiting(store) == []


# -- the schedule a notifier keeps between looks -----------------------------------------------------------


def test_the_schedule_gives_what_is_due_earliest_first() -> None:
    schedule = outbox.Schedule()
    schedule.put("a", "late", NOW + 5)
    schedule.put("a", "early", NOW + 1)
    schedule.put("b", "now", NOW)
    assert len(schedule) == 3
    assert schedule.wait(NOW) == 0.0
    assert schedule.take(NOW) == ("b", "now")
    assert schedule.take(NOW) is None  # the others are not due yet
    assert schedule.wait(NOW) == 1.0
    assert schedule.take(NOW + 9) == ("a", "early")
    assert schedule.take(NOW + 9) == ("a", "late")
    assert schedule.wait(NOW + 9) is None
    # Taken is not forgotten: an attempt is under way until put back or forgotten.
    assert len(schedule) == 3


def test_a_notification_put_again_or_forgotten_leaves_no_stale_turn() -> None:
    schedule = outbox.Schedule()
    schedule.put("a", "moved", NOW)
    schedule.put("a", "moved", NOW + 10)  # its attempt failed: the next is later
    schedule.put("a", "gone", NOW)
    schedule.forget("gone")
    assert schedule.take(NOW) is None
    assert schedule.wait(NOW) == 10.0
    assert schedule.take(NOW + 10) == ("a", "moved")


def test_a_look_at_the_outbox_replaces_the_schedule(store: Store) -> None:
    outbox.add(store, ACCOUNT, pending("AWSLogs/mine.json.gz"))
    outbox.add(store, ACCOUNT, pending("AWSLogs/held.json.gz"))
    outbox.add(store, ACCOUNT, pending("AWSLogs/busy.json.gz"))
    idents = {p.keys[0]: ident for _, ident, p in outbox.waiting(store)}
    outbox.claim(store, ACCOUNT, idents["AWSLogs/held.json.gz"], "node-b", NOW, hold=30.0)
    schedule = outbox.Schedule()
    schedule.put(ACCOUNT, "finished-before-the-look", NOW)
    mark = schedule.mark()
    found = outbox.waiting(store)
    schedule.put(ACCOUNT, "added-during-the-look", NOW + 60)  # the look could not see it: it stays
    schedule.reload(found, "node-a", busy={idents["AWSLogs/busy.json.gz"]}, mark=mark)
    assert len(schedule) == 4
    # Due now: only the free one (another node holds one for 30 s, this node is attempting the other).
    assert schedule.take(NOW) == (ACCOUNT, idents["AWSLogs/mine.json.gz"])
    assert schedule.take(NOW) is None
    assert schedule.wait(NOW) == 30.0
    assert schedule.take(NOW + 30) == (ACCOUNT, idents["AWSLogs/held.json.gz"])
    assert schedule.take(NOW + 60) == (ACCOUNT, "added-during-the-look")
    assert schedule.take(NOW + 60) is None
