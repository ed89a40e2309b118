"""What an operation is given: the deployment's services and the authenticated call."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import TYPE_CHECKING

from opentrail.events import EventTimes

if TYPE_CHECKING:
    from opentrail.clock import Clock
    from opentrail.delivery.signing import Signer
    from opentrail.delivery.sns import Sns
    from opentrail.history.throttle import Throttle
    from opentrail.ingest.coverage import Coverage
    from opentrail.settings import Settings
    from opentrail.storage import Storage
    from opentrail.store import AccessKey, Store
    from opentrail.tokens import TokenSealer
    from opentrail.trails.listeners import TrailListeners


def random_id() -> str:
    """A fresh random id (request ids, event ids, SNS subscription and message ids): the one source of
    them; tests inject their own through ``Services.new_id``."""
    return str(uuid.uuid4())


@dataclass
class Services:
    """Built once by ``server.app.build_services`` (or a test) and shared by every call."""

    settings: Settings
    store: Store
    storage: Storage
    clock: Clock
    sealer: TokenSealer
    # Which logging trails cover an account and region, for ingest (cached per store).
    coverage: Coverage
    # LookupEvents' rate limit per account and region.
    throttle: Throttle
    # What hears of trail changes (delivery, ingest's coverage): registered by the app factory.
    listeners: TrailListeners
    new_id: Callable[[], str] = random_id
    # Where generated ids that have an AWS shape (organization ids, CreateAccount requests) draw from.
    rng: Random = field(default_factory=secrets.SystemRandom)
    # Signs digests; None only in tests that build Services by hand and deliver nothing.
    signer: Signer | None = None
    # Topics on an SNS-compatible service; None when the deployment uses none (OPENTRAIL_SNS).
    sns: Sns | None = None
    # eventTime texts and their epoch times, remembered for the latest few (ingest and audit).
    event_times: EventTimes = field(default_factory=EventTimes)
    # -- alarms: told of each outbox notice a call kept (SetAlarmState's transition), as (account, notice
    # id, due time), so this node's notifier sends it at once (registered by the app factory).
    notices_queued: list[Callable[[str, str, float], None]] = field(default_factory=list)


@dataclass
class Call:
    """One authenticated API call."""

    services: Services
    key: AccessKey
    region: str
    request_id: str
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    # Resources the operation touched, for the audit record ({"accountId", "type", "ARN"}).
    resources: list[dict[str, str]] = field(default_factory=list)
    # Set by the edge: records this call as a success at once (durably), for an operation whose next
    # step must come after its own record; ``audited`` then tells the edge the record is written.
    record_success: Callable[[], None] | None = None
    audited: bool = False

    @property
    def account(self) -> str:
        return self.key.account_id

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def now(self) -> float:
        return self.services.clock.now()

    def record_now(self) -> None:
        """The call's audit record written now, as a success (once; a no-op where nobody audits)."""
        if self.record_success is not None and not self.audited:
            self.record_success()
            self.audited = True

    def touch(self, resource_type: str, arn: str) -> None:
        self.resources.append({"accountId": self.account, "type": resource_type, "ARN": arn})
