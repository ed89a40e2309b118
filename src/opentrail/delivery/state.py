"""A trail's delivery state, and the hooks that change it when the trail does (DESIGN.md rule 2).

The state of each trail with delivery state is one document of kind ``delivery``; ``delivery``'s
docstring describes its fields and ``Deliverer`` is its one other writer. Here: the document's shape
(``State``), the worker's fenced write (``save``), and what trails.py and the Organizations operations
call: StartLogging, StopLogging and DeleteTrail (``logging_started``, ``logging_stopped``), membership of
an organization trail (``cover``, ``cover_all``), the notifier's outcomes (``record_notification``) and
GetTrailStatus (``status``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import msgspec

from opentrail.clock import format_time
from opentrail.delivery.leases import LeaseLost
from opentrail.delivery.notifications import Notice, Outcome
from opentrail.errors import ConflictError

# Modules, not names: ``trails`` imports ``delivery``, which imports this module.
from opentrail.organizations import model as organizations
from opentrail.selectors import engine as selection
from opentrail.store import Doc, Store
from opentrail.trails import operations as trails

KIND = "delivery"
_LOCK = threading.Lock()

# -- state ----------------------------------------------------------------------------------------------


class Batch(msgspec.Struct):
    first: int
    last: int
    at: float


class Region(msgspec.Struct):
    window: float | None = None  # start of the open digest period; None: the next digest starts a chain
    logs: list[dict[str, Any]] = msgspec.field(default_factory=list)
    previous: dict[str, str] | None = None


class State(msgspec.Struct):
    trail: dict[str, Any]  # the trail as last seen, so a deleted trail can still be finished
    started: float | None = None  # the StartLoggingTime this state was reset for
    # StartLogging's high sequence when it came before the previous stop was finished (see _finish).
    resume: int | None = None
    cursor: int = 0
    batch: Batch | None = None
    until: int | None = None
    deleted: bool = False
    regions: dict[str, Region] = msgspec.field(default_factory=dict)
    status: dict[str, Any] = msgspec.field(default_factory=dict)
    last_flush: float = 0.0
    failures: int = 0
    retry_at: float = 0.0
    # The end time of the final digests, fixed before the first is written (see _finish).
    closing: float | None = None
    # An organization trail's member account this state delivers (None: the trail's own account).
    member: str | None = None
    # The node delivering this state and until when (see leases.py); the worker's writes are fenced by it.
    lease: dict[str, Any] | None = None
    # Bumped by hooks that reset the state (StartLogging, an organization's membership): a pass that read
    # an older generation writes nothing.
    generation: int = 0


def _load(doc: Doc) -> State:
    return msgspec.convert(doc.body, State)


def _save(
    store: Store,
    doc: Doc,
    state: State,
    settle: Callable[[dict[str, Any]], None] | None = None,
    fence: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> None:
    """The worker's write: everything but ``until`` and ``deleted``, which StopLogging and DeleteTrail
    set concurrently (StartLogging, which writes ``started`` and ``resume`` or resets everything, waits
    for the worker's lock instead, so within a pass those are as the worker read them). ``settle`` may
    change those two in the same write, from the stored body. Across nodes: ``fence`` checks, in the same
    atomic update, that this node still holds the lease (``LeaseLost`` if not) and renews it, and a state
    reset by a hook since the pass read it (a newer ``generation``) is not overwritten."""
    body = msgspec.to_builtins(state)

    def change(current: Doc) -> Doc:
        if current.body.get("generation", 0) != state.generation:
            raise LeaseLost(f"delivery state of {current.arn} was reset during the pass")
        body["lease"] = current.body.get("lease") if fence is None else fence(current.body)
        body["until"] = current.body.get("until")
        body["deleted"] = current.body.get("deleted", False)
        # The notifier records its outcomes concurrently: keep the stored ones, not this pass's copy.
        status = {k: v for k, v in body["status"].items() if not k.startswith(_NOTIFICATION)}
        stored = current.body.get("status") or {}
        status.update((k, v) for k, v in stored.items() if k.startswith(_NOTIFICATION))
        body["status"] = status
        if settle is not None:
            settle(body)
        current.body = body
        return current

    store.update_doc(KIND, doc.account, doc.arn, change)


# -- hooks called by trails.py ----------------------------------------------------------------------------


def _covered(store: Store, trail: trails.Trail) -> list[str]:
    """The accounts whose events ``trail`` delivers: its own, and its organization's for an
    organization trail."""
    owner = selection.account_of(trail)
    return organizations.covered_accounts(store, owner) if trail.is_organization_trail else [owner]


def _states(store: Store, trail: trails.Trail) -> list[str]:
    """The accounts that hold a delivery state of ``trail`` (members' too, for an organization trail)."""
    owner = selection.account_of(trail)
    if not trail.is_organization_trail:
        return [owner]
    return sorted({owner} | {doc.account for doc in store.list_docs(KIND) if doc.arn == trail.trail_arn})


def logging_started(store: Store, account: str, trail: trails.Trail) -> None:
    """StartLogging: deliver only events committed after this call; digests start a new chain."""
    high = store.high_sequence()
    with _LOCK:
        for covered in _covered(store, trail):
            _start(store, covered, trail, high, None if covered == account else covered)


def _start(store: Store, account: str, trail: trails.Trail, high: int, member: str | None) -> None:
    fresh = State(
        trail=msgspec.to_builtins(trail), cursor=high, started=trail.start_logging_time, member=member
    )
    doc = Doc(KIND, account, trail.home_region, trail.name, trail.trail_arn, msgspec.to_builtins(fresh))

    def restart(current: Doc) -> Doc:
        state = _load(current)
        state.generation += 1
        state.started = fresh.started
        if state.until is not None:
            # The last stop's files and final digest are not written yet: the worker writes them,
            # then resumes from ``high`` (events of the stopped interval are skipped, as CloudTrail does).
            state.resume = high
        else:
            state.trail, state.cursor, state.batch = fresh.trail, high, None
            state.deleted, state.regions, state.resume, state.closing = False, {}, None, None
        current.body = msgspec.to_builtins(state)
        return current

    try:
        store.insert_doc(doc, _absent(trail.trail_arn))
    except ConflictError:
        store.update_doc(KIND, account, trail.trail_arn, restart)


def cover(store: Store, trail: trails.Trail) -> None:
    """Make ``trail``'s delivery states match the accounts it covers now (called when an organization's
    membership or the trail's IsOrganizationTrail changes): a logging trail starts delivering a newly
    covered member's events from now on; an account no longer covered gets its last files and final
    digests, then its state goes."""
    owner = selection.account_of(trail)
    covered = set(_covered(store, trail))
    high = store.high_sequence()
    with _LOCK:
        held = {doc.account: doc for doc in store.list_docs(KIND) if doc.arn == trail.trail_arn}
        if trail.is_logging and owner in held:
            for account in sorted(covered - set(held)):
                fresh = State(
                    trail=msgspec.to_builtins(trail),
                    cursor=high,
                    started=trail.start_logging_time,
                    member=account,
                )
                doc = Doc(
                    KIND, account, trail.home_region, trail.name, trail.trail_arn, msgspec.to_builtins(fresh)
                )
                with contextlib.suppress(ConflictError):  # a concurrent StartLogging made it
                    store.insert_doc(doc, _absent(trail.trail_arn))
            for account in sorted(covered & set(held) - {owner}):
                if held[account].body.get("deleted"):  # covered again before its leave was finished
                    with contextlib.suppress(KeyError):
                        store.update_doc(KIND, account, trail.trail_arn, _rejoin(high, trail))
        for account in sorted(set(held) - covered - {owner}):
            with contextlib.suppress(KeyError):
                store.update_doc(KIND, account, trail.trail_arn, _leave(high))


def cover_all(store: Store) -> None:
    """``cover`` every organization trail: at start, so a membership change whose ``cover`` a crash cut
    short is carried out (a member's events from now on, rather than never)."""
    for doc in store.list_docs(trails.KIND):
        trail = trails.decode(doc)
        if trail.is_organization_trail:
            cover(store, trail)


def _rejoin(high: int, trail: trails.Trail) -> Callable[[Doc], Doc]:
    """A member state that was leaving is covered again: it delivers from ``high`` on, after the leave's
    last files and final digests if those are still to be written (as StartLogging after an unfinished
    StopLogging does, see ``_finish``)."""

    def rejoin(current: Doc) -> Doc:
        state = _load(current)
        if state.until is not None:
            state.resume = high
        else:
            state = State(
                trail=msgspec.to_builtins(trail),
                cursor=high,
                started=trail.start_logging_time,
                member=state.member,
                lease=state.lease,
                generation=state.generation,
            )
        state.generation += 1
        current.body = msgspec.to_builtins(state)
        return current

    return rejoin


def _leave(high: int) -> Callable[[Doc], Doc]:
    """A member state's end: deliver up to ``high`` (the trail as last seen, so under the organization's
    keys), write final digests, then drop the state."""

    def leave(current: Doc) -> Doc:
        state = _load(current)
        state.generation += 1
        logging = bool(state.trail.get("IsLogging")) and not state.deleted
        if state.until is None and logging:
            state.until = high
        elif state.until is None:
            state.trail = {**state.trail, "IsLogging": False}  # stopped and finished: nothing to write
        state.deleted, state.resume = True, None
        current.body = msgspec.to_builtins(state)
        return current

    return leave


def _absent(arn: str) -> Any:
    def check(docs: list[Doc]) -> None:
        if any(d.arn == arn for d in docs):
            raise ConflictError(f"delivery state for {arn} exists")

    return check


def logging_stopped(store: Store, account: str, trail: trails.Trail, *, deleted: bool = False) -> None:
    """StopLogging or DeleteTrail: finish what was committed up to now, then final digests."""
    high = store.high_sequence()

    def stop(current: Doc) -> Doc:
        state = _load(current)
        # A trail deleted after StopLogging has nothing left to deliver: its final digest is written.
        if state.until is None and trail.is_logging:
            state.until = high
        state.deleted = state.deleted or deleted
        state.trail = msgspec.to_builtins(trail)
        current.body = msgspec.to_builtins(state)
        return current

    for holder in _states(store, trail):
        with contextlib.suppress(KeyError):  # never logged: nothing to finish
            store.update_doc(KIND, holder, trail.trail_arn, stop)


_NOTIFICATION = "LatestNotification"


def record_notification(store: Store) -> Callable[[Notice, Outcome], None]:
    """The notifier's report: GetTrailStatus's notification facts for the notice's trail (KeyError
    when the trail's delivery state is gone)."""

    def record(notice: Notice, outcome: Outcome) -> None:
        def change(current: Doc) -> Doc:
            facts = dict(current.body.get("status") or {})
            attempt = format_time(outcome.at)
            facts["LatestNotificationAttemptTime"] = attempt
            if outcome.error is None:
                facts["LatestNotificationTime"] = outcome.at
                facts["LatestNotificationAttemptSucceeded"] = attempt
                facts.pop("LatestNotificationError", None)
            else:
                facts["LatestNotificationError"] = outcome.error
            current.body = {**current.body, "status": facts}
            return current

        store.update_doc(KIND, notice.account, notice.trail_arn, change)

    return record


def status(store: Store, account: str, arn: str) -> dict[str, Any]:
    """GetTrailStatus's delivery members (absent until a delivery was attempted)."""
    doc = store.get_doc(KIND, account, arn)
    return {} if doc is None else dict(_load(doc).status)
