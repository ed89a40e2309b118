"""What the log-group delivery of one trail remembers between passes: one document of kind
``log-delivery`` beside each trail delivery state (same account and ARN: a trail's own account, and
each member account of an organization trail).

- ``cursor``: every event of the log up to here was streamed to the trail's log group (or was not the
  trail's to stream); ``remote_cursor``: the same for forwarding to a remote CloudWatch Logs.
- ``started``: the trail's StartLoggingTime this cursor follows; when logging restarts, the cursor jumps
  to where trail delivery restarted (events of the stopped time are not streamed, as CloudTrail's are
  not).
- ``until``: logging stopped (or the trail was deleted) at this sequence: streaming finishes the range,
  even after trail delivery has, then goes quiet, or jumps to ``resume`` when logging restarted before
  the range was finished; ``trail``: the trail as last seen, to finish with.
- ``status``: GetTrailStatus's ``LatestCloudWatchLogsDeliveryTime`` and ``...Error``.

The worker's write is a compare-and-set on the cursor it read (``save``): a node that lost the race
writes nothing. The log events themselves are idempotent (their source id is the event's sequence), so
whichever node streams a range, each event is in the group once.
"""

from __future__ import annotations

from typing import Any

import msgspec

from opentrail.delivery.leases import LeaseLost
from opentrail.store import Doc, Store

KIND = "log-delivery"


class StreamState(msgspec.Struct):
    trail: dict[str, Any]
    cursor: int = 0
    remote_cursor: int = 0
    started: float | None = None
    until: int | None = None
    # Where logging restarted, when it restarted before the stopped range was streamed: jumped to then.
    resume: int | None = None
    status: dict[str, Any] = msgspec.field(default_factory=dict)
    failures: int = 0
    retry_at: float = 0.0
    lease: dict[str, Any] | None = None


def load(doc: Doc) -> StreamState:
    return msgspec.convert(doc.body, StreamState)


def save(store: Store, doc: Doc, read: StreamState, state: StreamState) -> None:
    """Store ``state`` if the cursors are still those ``read`` had (else ``LeaseLost``: another node
    moved them, and its write stands)."""
    body = msgspec.to_builtins(state)

    def change(current: Doc) -> Doc:
        stored = current.body
        if (stored.get("cursor", 0), stored.get("remote_cursor", 0)) != (read.cursor, read.remote_cursor):
            raise LeaseLost(f"log delivery of {current.arn} moved under this pass")
        body["lease"] = stored.get("lease")
        current.body = body
        return current

    store.update_doc(KIND, doc.account, doc.arn, change)
