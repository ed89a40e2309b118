"""The outbox: notifications waiting to be sent, kept in the store so that none is lost.

Each waiting notification is a document of kind ``notice`` in the delivery state's account. Its id is a
function of (trail, bucket, keys), so delivery adding it again after a crash (the range is delivered
again, with the same keys) finds it already there instead of queueing a second one. The notifier of any
node sends it: it first *claims* it (``claim``: an atomic update that sets its node and a deadline), so
nodes sharing one PostgreSQL never send the same notification at once, and a node that dies mid-send
leaves a claim that simply runs out. After an attempt the notification is either done (sent, or failed
for good: ``finish``) or waits for its next attempt (``postpone``).

A notice need not announce a log file: one that carries its own ``subject`` and ``message`` (a
CloudWatch alarm's state change, whose ARN is then in ``trail_arn``) is sent as it is, and its id is a
function of (alarm, topic, ``occasion``: the transition), so the transaction that changes the alarm's
state can queue it (``document``) and a repeat of that transaction cannot queue it twice.

So a notification is sent at least once while it is retried (``OPENTRAIL_NOTIFICATION_MAX_AGE``), and
exactly once unless a process dies between the topic's answer and ``finish``.

Between its looks at the store, a notifier keeps a ``Schedule``: when each waiting notification may next
be attempted. A look lists every notification, so it is rare; the schedule makes the choice of the next
one cheap however many wait (an outage lets them pile up).
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
from collections.abc import Container
from typing import Any

import msgspec

from opentrail.errors import ConflictError
from opentrail.store import Doc, Store

KIND = "notice"


class Pending(msgspec.Struct, kw_only=True):
    """One notification in the outbox."""

    # The ARN of what the notice announces: the trail, or the alarm of an alarm notice.
    trail_arn: str
    topic_arn: str
    bucket: str = ""
    keys: list[str] = msgspec.field(default_factory=list)
    # A webhook endpoint sees the same MessageId on every attempt, as SNS keeps it on its retries.
    message_id: str
    created: float
    due: float  # no attempt before this time
    attempts: int = 0
    claimed_by: str | None = None
    claimed_until: float = 0.0
    # An alarm notice: the SNS Subject and Message sent as they are, and what makes its id unique.
    subject: str | None = None
    message: str | None = None
    occasion: str = ""

    def claimable(self, now: float, node: str) -> bool:
        """Due, and claimed by nobody, by ``node`` itself (a process before a restart under the same
        node id), or by a node whose claim ran out."""
        free = self.claimed_by in (None, node) or self.claimed_until <= now
        return self.due <= now and free


def notice_id(trail_arn: str, bucket: str, keys: tuple[str, ...]) -> str:
    return hashlib.sha256("\0".join((trail_arn, bucket, *keys)).encode()).hexdigest()


def pending_id(pending: Pending) -> str:
    """The id ``pending`` is kept under: a log file's by (trail, bucket, keys), an alarm notice's by
    (alarm, topic, occasion)."""
    if pending.message is None:
        return notice_id(pending.trail_arn, pending.bucket, tuple(pending.keys))
    return notice_id(pending.trail_arn, pending.topic_arn, ("message", pending.occasion))


def document(account: str, pending: Pending) -> Doc:
    """The outbox document of ``pending`` (of ``account``), for a caller that writes it in a transaction
    of its own (inserted unless one with its id is there)."""
    ident = pending_id(pending)
    region = pending.trail_arn.split(":")[3]
    return Doc(KIND, account, region, ident, ident, msgspec.to_builtins(pending))


def add(store: Store, account: str, pending: Pending) -> bool:
    """Keep ``pending`` (of the delivery state of ``account``); False when it is already waiting."""
    try:
        store.insert_doc(document(account, pending))
    except ConflictError:
        return False
    return True


def waiting(store: Store) -> list[tuple[str, str, Pending]]:
    """Every waiting notification of every account: (account, id, notification)."""
    return [(doc.account, doc.arn, msgspec.convert(doc.body, Pending)) for doc in store.list_docs(KIND)]


def claim(store: Store, account: str, ident: str, node: str, now: float, hold: float) -> Pending | None:
    """Take the notification for an attempt of at most ``hold`` seconds; None when it is gone, not due,
    or claimed by a node whose claim has not run out."""
    taken: list[Pending] = []

    def change(current: Doc) -> Doc:
        pending = msgspec.convert(current.body, Pending)
        if pending.claimable(now, node):
            pending.claimed_by, pending.claimed_until = node, now + hold
            taken.append(pending)
        current.body = msgspec.to_builtins(pending)
        return current

    try:
        store.update_doc(KIND, account, ident, change)
    except KeyError:
        return None
    return taken[0] if taken else None


def postpone(store: Store, account: str, ident: str, node: str, due: float, attempts: int) -> None:
    """Release ``node``'s claim; the next attempt is not before ``due``. A claim that ran out and was
    taken by another node meanwhile is that node's to release."""

    def change(current: Doc) -> Doc:
        body: dict[str, Any] = dict(current.body)
        if body.get("claimed_by") == node:
            body.update(due=due, attempts=attempts, claimed_by=None, claimed_until=0.0)
        current.body = body
        return current

    # Gone: finished elsewhere meanwhile (a claim that ran out), so there is nothing to put off.
    with contextlib.suppress(KeyError):
        store.update_doc(KIND, account, ident, change)


def finish(store: Store, account: str, ident: str) -> None:
    store.delete_doc(KIND, account, ident)


class Schedule:
    """When each waiting notification may next be attempted: its due time, or the end of another node's
    claim on it. Bookkeeping only, no I/O; a notification being attempted is out of the queue until
    ``put`` (tried again later) or ``forget`` (done) says what became of it."""

    def __init__(self) -> None:
        self._at: dict[str, tuple[str, float]] = {}  # id -> (account, when)
        # (when, id), earliest first; an entry that ``_at`` no longer agrees with is stale and skipped.
        self._queue: list[tuple[float, str]] = []
        self._puts = 0
        self._put: dict[str, int] = {}  # id -> the count of puts when it was last put

    def __len__(self) -> int:
        return len(self._at)

    def mark(self) -> int:
        """Where things stand before a look at the outbox begins (see ``reload``)."""
        return self._puts

    def reload(
        self, found: list[tuple[str, str, Pending]], node: str, busy: Container[str], mark: int
    ) -> None:
        """Start again from a look at the outbox (``waiting``) that began at ``mark``; ``busy``: ids
        being attempted. What was put since ``mark`` is newer than the look and stays as put."""
        newer = {ident: self._at[ident] for ident, n in self._put.items() if n > mark and ident in self._at}
        self._put = {ident: self._put[ident] for ident in newer}
        self._at = {}
        for account, ident, pending in found:
            foreign = pending.claimed_by not in (None, node)
            self._at[ident] = (account, max(pending.due, pending.claimed_until if foreign else 0.0))
        self._at.update(newer)
        self._queue = [(when, ident) for ident, (_, when) in self._at.items() if ident not in busy]
        heapq.heapify(self._queue)

    def put(self, account: str, ident: str, when: float) -> None:
        self._puts += 1
        self._put[ident] = self._puts
        self._at[ident] = (account, when)
        heapq.heappush(self._queue, (when, ident))

    def forget(self, ident: str) -> None:
        self._at.pop(ident, None)
        self._put.pop(ident, None)

    def take(self, now: float) -> tuple[str, str] | None:
        """The (account, id) of the next notification due by ``now``, out of the queue; None if none is."""
        while self._queue:
            when, ident = self._queue[0]
            known = self._at.get(ident)
            if known is None or known[1] != when:
                heapq.heappop(self._queue)
                continue
            if when > now:
                return None
            heapq.heappop(self._queue)
            return known[0], ident
        return None

    def wait(self, now: float) -> float | None:
        """Seconds until the next notification is due (0 if one is), None when none waits."""
        while self._queue:
            when, ident = self._queue[0]
            known = self._at.get(ident)
            if known is None or known[1] != when:
                heapq.heappop(self._queue)
                continue
            return max(0.0, when - now)
        return None
