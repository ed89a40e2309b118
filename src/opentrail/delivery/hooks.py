"""What trail changes do to delivery states (DESIGN.md rule 2): the listeners the app factory registers.

StartLogging starts a state from the store's high sequence (``logging_started``); StopLogging and
DeleteTrail set how far delivery must finish (``logging_stopped``); a change of the accounts an
organization trail covers starts and ends its members' states (``cover``); the notifier reports its
outcomes (``record_notification``); GetTrailStatus reads the delivery facts (``status``). The worker
(``worker.Deliverer``) is the states' one other writer: ``DeliveryHooks.lock`` keeps its passes and
these hooks from overlapping within one process, and leases (``leases.py``) do so between processes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import msgspec

from opentrail.clock import format_time
from opentrail.delivery.notifications import Notice, Outcome
from opentrail.delivery.state import KIND, State, load_state
from opentrail.errors import ConflictError
from opentrail.organizations import model as organizations
from opentrail.selectors import picker
from opentrail.store import Doc, Store
from opentrail.trails import model as trails


class DeliveryHooks:
    """The delivery states of one store, as trail changes start, finish and end them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Taken by the worker's passes too (``Deliverer``): within a process, a hook never runs beside
        # a pass that read the state it resets.
        self.lock = threading.Lock()

    def _covered(self, trail: trails.Trail) -> list[str]:
        """The accounts whose events ``trail`` delivers: its own, and its organization's for an
        organization trail."""
        owner = picker.account_of(trail)
        return organizations.covered_accounts(self.store, owner) if trail.is_organization_trail else [owner]

    def _states(self, trail: trails.Trail) -> list[str]:
        """The accounts that hold a delivery state of ``trail`` (members' too, for an organization trail)."""
        owner = picker.account_of(trail)
        if not trail.is_organization_trail:
            return [owner]
        return sorted(
            {owner} | {doc.account for doc in self.store.list_docs(KIND) if doc.arn == trail.trail_arn}
        )

    def logging_started(self, account: str, trail: trails.Trail) -> None:
        """StartLogging: deliver only events committed after this call; digests start a new chain."""
        high = self.store.high_sequence()
        with self.lock:
            for covered in self._covered(trail):
                self._start(covered, trail, high, None if covered == account else covered)

    def _start(self, account: str, trail: trails.Trail, high: int, member: str | None) -> None:
        fresh = State(
            trail=msgspec.to_builtins(trail),
            cursor=high,
            origin=high,
            started=trail.start_logging_time,
            member=member,
        )
        doc = Doc(KIND, account, trail.home_region, trail.name, trail.trail_arn, msgspec.to_builtins(fresh))

        def restart(current: Doc) -> Doc:
            state = load_state(current)
            state.generation += 1
            state.started, state.origin = fresh.started, high
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
            self.store.insert_doc(doc, _absent(trail.trail_arn))
        except ConflictError:
            self.store.update_doc(KIND, account, trail.trail_arn, restart)

    def cover(self, trail: trails.Trail) -> None:
        """Make ``trail``'s delivery states match the accounts it covers now (called when an organization's
        membership or the trail's IsOrganizationTrail changes): a logging trail starts delivering a newly
        covered member's events from now on; an account no longer covered gets its last files and final
        digests, then its state goes."""
        owner = picker.account_of(trail)
        covered = set(self._covered(trail))
        high = self.store.high_sequence()
        with self.lock:
            held = {doc.account: doc for doc in self.store.list_docs(KIND) if doc.arn == trail.trail_arn}
            if trail.is_logging and owner in held:
                for account in sorted(covered - set(held)):
                    fresh = State(
                        trail=msgspec.to_builtins(trail),
                        cursor=high,
                        origin=high,
                        started=trail.start_logging_time,
                        member=account,
                    )
                    doc = Doc(
                        KIND,
                        account,
                        trail.home_region,
                        trail.name,
                        trail.trail_arn,
                        msgspec.to_builtins(fresh),
                    )
                    with contextlib.suppress(ConflictError):  # a concurrent StartLogging made it
                        self.store.insert_doc(doc, _absent(trail.trail_arn))
                for account in sorted(covered & set(held) - {owner}):
                    if held[account].body.get("deleted"):  # covered again before its leave was finished
                        with contextlib.suppress(KeyError):
                            self.store.update_doc(KIND, account, trail.trail_arn, _rejoin(high, trail))
            for account in sorted(set(held) - covered - {owner}):
                with contextlib.suppress(KeyError):
                    self.store.update_doc(KIND, account, trail.trail_arn, _leave(high))

    def cover_all(self) -> None:
        """``cover`` every organization trail: at start, so a membership change whose ``cover`` a crash cut
        short is carried out (a member's events from now on, rather than never)."""
        for doc in self.store.list_docs(trails.KIND):
            trail = trails.decode(doc)
            if trail.is_organization_trail:
                self.cover(trail)

    def logging_stopped(self, account: str, trail: trails.Trail, *, deleted: bool = False) -> None:
        """StopLogging or DeleteTrail: finish what was committed up to now, then final digests."""
        high = self.store.high_sequence()

        def stop(current: Doc) -> Doc:
            state = load_state(current)
            # A trail deleted after StopLogging has nothing left to deliver: its final digest is written.
            if state.until is None and trail.is_logging:
                state.until = high
            state.deleted = state.deleted or deleted
            state.trail = msgspec.to_builtins(trail)
            current.body = msgspec.to_builtins(state)
            return current

        for holder in self._states(trail):
            with contextlib.suppress(KeyError):  # never logged: nothing to finish
                self.store.update_doc(KIND, holder, trail.trail_arn, stop)

    def record_notification(self, notice: Notice, outcome: Outcome) -> None:
        """The notifier's report: GetTrailStatus's notification facts for the notice's trail (KeyError
        when the trail's delivery state is gone)."""

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

        self.store.update_doc(KIND, notice.account, notice.trail_arn, change)

    def status(self, account: str, arn: str) -> dict[str, Any]:
        """GetTrailStatus's delivery members (absent until a delivery was attempted)."""
        doc = self.store.get_doc(KIND, account, arn)
        return {} if doc is None else dict(load_state(doc).status)


def _rejoin(high: int, trail: trails.Trail) -> Callable[[Doc], Doc]:
    """A member state that was leaving is covered again: it delivers from ``high`` on, after the leave's
    last files and final digests if those are still to be written (as StartLogging after an unfinished
    StopLogging does, see ``_finish``)."""

    def rejoin(current: Doc) -> Doc:
        state = load_state(current)
        if state.until is not None:
            state.resume = state.origin = high
        else:
            state = State(
                trail=msgspec.to_builtins(trail),
                cursor=high,
                origin=high,
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
        state = load_state(current)
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
