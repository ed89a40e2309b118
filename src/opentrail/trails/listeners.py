"""What the rest of the service hears when a trail changes.

The trails domain never imports a worker. Its operations announce each change here, and the app factory
(``server/app.py``) registers what delivery and ingest do about it, as Datasette's plugin hooks decouple
its modules. Listeners run in the operation's thread after the change is committed, in registration
order; an exception in one reaches the caller (the change is made, and every listener is idempotent, so
the client's retry is safe).

The announcements:
- ``trail_changed``: a trail of ``account`` was created, configured, re-selected, started, stopped or
  deleted, so which events it selects may have changed (``organization``: it covers, or covered, every
  account of an organization);
- ``logging_started`` / ``logging_stopped``: StartLogging, StopLogging and DeleteTrail (``deleted``,
  announced before the trail's document goes, so delivery keeps a copy to finish with);
- ``coverage_changed``: the accounts an organization trail covers changed (its IsOrganizationTrail, or
  its organization's membership);
- ``status``: GetTrailStatus asks every registered source for its members (delivery's times and errors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentrail.trails.model import Trail

Changed = Callable[[str, bool], None]
Started = Callable[[str, Trail], None]
Stopped = Callable[[str, Trail, bool], None]
Covered = Callable[[Trail], None]
StatusSource = Callable[[str, str], dict[str, Any]]


@dataclass
class TrailListeners:
    """The registered listeners, one list per announcement."""

    changed: list[Changed] = field(default_factory=list)
    started: list[Started] = field(default_factory=list)
    stopped: list[Stopped] = field(default_factory=list)
    covered: list[Covered] = field(default_factory=list)
    status_sources: list[StatusSource] = field(default_factory=list)

    def trail_changed(self, account: str, *versions: Trail) -> None:
        """``versions``: the trail as it was and as it is (either may be an organization trail)."""
        organization = any(t.is_organization_trail for t in versions)
        for listener in self.changed:
            listener(account, organization)

    def logging_started(self, account: str, trail: Trail) -> None:
        for listener in self.started:
            listener(account, trail)

    def logging_stopped(self, account: str, trail: Trail, *, deleted: bool = False) -> None:
        for listener in self.stopped:
            listener(account, trail, deleted)

    def coverage_changed(self, trail: Trail) -> None:
        for listener in self.covered:
            listener(trail)

    def status(self, account: str, arn: str) -> dict[str, Any]:
        members: dict[str, Any] = {}
        for source in self.status_sources:
            members.update(source(account, arn))
        return members
