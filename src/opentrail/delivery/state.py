"""A trail's delivery state: one document of kind ``delivery`` per trail (and per member account of an
organization trail), holding everything the worker needs to resume after a crash (``worker``'s
docstring describes its fields). Here: its shape (``State``), reading it, and the worker's fenced
write (``save_state``); the hooks that reset and finish it when trails change are ``hooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail.delivery.leases import LeaseLost
from opentrail.store import Doc, Store

KIND = "delivery"
# GetTrailStatus's notification facts: only the notifier's outcomes (``DeliveryHooks``) write them.
_NOTIFICATION = "LatestNotification"

# -- state ----------------------------------------------------------------------------------------------


class LogRange(msgspec.Struct):
    """The range of the log being delivered, and the delivery time its keys carry."""

    first: int
    last: int
    at: float


class DigestChain(msgspec.Struct):
    """One source region's digest chain: the open period, its log files, the link to the last digest."""

    window: float | None = None  # start of the open digest period; None: the next digest starts a chain
    logs: list[dict[str, Any]] = msgspec.field(default_factory=list)
    previous: dict[str, str] | None = None


class State(msgspec.Struct):
    trail: dict[str, Any]  # the trail as last seen, so a deleted trail can still be finished
    started: float | None = None  # the StartLoggingTime this state was reset for
    # StartLogging's high sequence when it came before the previous stop was finished (see _finish).
    resume: int | None = None
    cursor: int = 0
    # Where delivery (re)started: the store's high sequence at StartLogging (or when an organization's
    # member joined); log-group streaming starts there too (streams/delivery).
    origin: int = 0
    batch: LogRange | None = None
    until: int | None = None
    deleted: bool = False
    regions: dict[str, DigestChain] = msgspec.field(default_factory=dict)
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


def load_state(doc: Doc) -> State:
    return msgspec.convert(doc.body, State)


def save_state(
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
