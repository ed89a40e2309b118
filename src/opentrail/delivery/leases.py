"""Leases: which node delivers which trail, when several ``opentrail serve`` nodes share one store.

Each delivery document (one per trail, or per trail and member account) carries a ``lease``:
``{"node", "token", "expires"}``. A node works on a document only while it holds the lease, takes a
free or expired one with the store's atomic read-modify-write (``update_doc``), and renews it in every
write it makes to the document. Writes are fenced: the same atomic update that advances a cursor first
checks that the stored lease is still this node's (same token, not expired), and every object or digest
is preceded by such a renewal, so a node that lost its lease (paused, cut off, or presumed dead) stops
before it writes anything the new holder did not expect.

Nodes announce themselves with a heartbeat document (kind ``node``) renewed every pass; a node takes at
most its fair share of the documents (their number over the live nodes', rounded up) and releases what
it holds beyond that, so a node that joins gets work and a node that dies has its documents taken over
once its leases expire (one lease period). Everything goes through the ``Store`` interface, so it works
on every backend; a store that only one process opens (SQLite, ``Store.shared`` false) needs none of it
and gets the trivial lease: every document is this node's.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentrail.clock import Clock
from opentrail.errors import ConflictError
from opentrail.store import Doc, Store

NODE_KIND = "node"
# Heartbeats live under no account; this placeholder keeps them apart from every real account's docs.
NODE_ACCOUNT = "000000000000"
# A heartbeat this many lease periods old is dropped (the node is gone, not just slow).
FORGET_PERIODS = 10


class LeaseLost(Exception):
    """This node no longer holds the lease on a document (or the document changed under the pass)."""


def new_node_id() -> str:
    return f"node-{secrets.token_hex(6)}"


_PROCESS_NODE = new_node_id()


def node_id(configured: str = "") -> str:
    """This process's name among the nodes: OPENTRAIL_NODE_ID, else one made for the process. Every
    worker of a process shares it, so a node's heartbeat counts once in each worker's fair share (trail
    delivery and log-group streaming would otherwise each see the other's heartbeat as a node that
    takes half of their documents, and never does)."""
    return configured or _PROCESS_NODE


@dataclass
class Leases:
    store: Store
    clock: Clock
    node: str
    seconds: float
    # False: one process opens the store (SQLite), so every document is this node's.
    shared: bool = True
    # The token of each document this node took: (account, arn) -> token.
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    # -- heartbeat and share ----------------------------------------------------------------------

    def beat(self) -> int:
        """Renew this node's heartbeat; the number of live nodes, this one included."""
        now = self.clock.now()
        body = {"expires": now + self.seconds}
        arn = f"opentrail:node:{self.node}"

        def renew(current: Doc) -> Doc:
            current.body = body
            return current

        try:
            self.store.update_doc(NODE_KIND, NODE_ACCOUNT, arn, renew)
        except KeyError:
            with contextlib.suppress(ConflictError):
                self.store.insert_doc(Doc(NODE_KIND, NODE_ACCOUNT, "", self.node, arn, body))
        live = 0
        for doc in self.store.list_docs(NODE_KIND, NODE_ACCOUNT):
            expires = float(doc.body.get("expires", 0.0))
            if expires > now:
                live += 1
            elif expires + FORGET_PERIODS * self.seconds < now:
                self.store.delete_doc(NODE_KIND, NODE_ACCOUNT, doc.arn)
        return max(live, 1)

    def plan(self, docs: list[Doc]) -> list[Doc]:
        """The documents this node works on this pass: those it holds, plus free ones up to its fair
        share; those beyond the share are released for other nodes."""
        if not self.shared:
            return docs
        share = math.ceil(len(docs) / self.beat()) if docs else 0
        now = self.clock.now()
        held = [d for d in docs if self._holds(d, now)]
        free = [d for d in docs if not self._taken(d.body, now)]
        for doc in held[share:]:
            self._release(doc)
        mine = []
        for doc in held[:share]:
            with contextlib.suppress(LeaseLost):
                mine.append(self.renew(doc))
        for doc in free:
            if len(mine) >= share:
                break
            with contextlib.suppress(LeaseLost, KeyError):
                mine.append(self._take(doc))
        known = {(d.account, d.arn) for d in docs}
        self.tokens = {k: v for k, v in self.tokens.items() if k in known}
        return mine

    # -- one document -----------------------------------------------------------------------------

    def _holds(self, doc: Doc, now: float) -> bool:
        lease = doc.body.get("lease") or {}
        token = self.tokens.get((doc.account, doc.arn))
        return token is not None and lease.get("token") == token and float(lease.get("expires", 0.0)) > now

    def _taken(self, body: dict[str, Any], now: float) -> bool:
        lease = body.get("lease") or {}
        return lease.get("node") is not None and float(lease.get("expires", 0.0)) > now

    def _take(self, doc: Doc) -> Doc:
        token = secrets.token_hex(8)

        def take(current: Doc) -> Doc:
            now = self.clock.now()
            if self._taken(current.body, now):
                raise LeaseLost(f"{current.arn} is leased to {current.body['lease']['node']}")
            current.body = {**current.body, "lease": self._lease(token, now)}
            return current

        taken = self.store.update_doc(doc.kind, doc.account, doc.arn, take)
        self.tokens[(doc.account, doc.arn)] = token
        return taken

    def _release(self, doc: Doc) -> None:
        token = self.tokens.pop((doc.account, doc.arn), None)

        def release(current: Doc) -> Doc:
            lease = current.body.get("lease") or {}
            if lease.get("node") == self.node and lease.get("token") == token:
                current.body = {**current.body, "lease": None}
            return current

        with contextlib.suppress(KeyError):
            self.store.update_doc(doc.kind, doc.account, doc.arn, release)

    def _lease(self, token: str, now: float) -> dict[str, Any]:
        return {"node": self.node, "token": token, "expires": now + self.seconds}

    def fence(self, doc: Doc) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        """For a write's atomic update: given the stored body, the renewed lease to store with it;
        raises ``LeaseLost`` when the stored lease is no longer this node's."""
        token = self.tokens.get((doc.account, doc.arn))

        def check(stored: dict[str, Any]) -> dict[str, Any] | None:
            if not self.shared:
                return stored.get("lease")
            lease = stored.get("lease") or {}
            now = self.clock.now()
            if token is None or lease.get("token") != token or float(lease.get("expires", 0.0)) <= now:
                raise LeaseLost(f"lease on {doc.arn} ({doc.account}) lost by {self.node}")
            return self._lease(token, now)

        return check

    def renew(self, doc: Doc, check: Callable[[dict[str, Any]], None] | None = None) -> Doc:
        """Every pass, and before an object or digest is written: still this node's? The document with
        its lease renewed if so; else ``LeaseLost``. ``check`` may raise too, from the stored body."""
        if not self.shared:  # one process: its hooks and passes already take turns (delivery._LOCK)
            return doc
        fence = self.fence(doc)

        def renew(current: Doc) -> Doc:
            if check is not None:
                check(current.body)
            current.body = {**current.body, "lease": fence(current.body)}
            return current

        try:
            return self.store.update_doc(doc.kind, doc.account, doc.arn, renew)
        except KeyError:
            raise LeaseLost(f"{doc.arn} ({doc.account}) is gone") from None
