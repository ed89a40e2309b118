"""One operations table: every JSON 1.1 operation the port answers, by SigV4 service and wire name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentrail.context import Call
from opentrail.delivery import public_keys as keys
from opentrail.history import lookup
from opentrail.organizations import operations as organizations_api
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, ORGANIZATIONS_TARGET_PREFIX
from opentrail.selectors import operations as trail_selectors
from opentrail.server import audit
from opentrail.streams.logs import operations as logs_api
from opentrail.trails import channels, tags
from opentrail.trails import operations as trails

MAX_API_BODY = 1024 * 1024
Operation = Callable[[Call, dict[str, Any]], dict[str, Any]]

# The CloudTrail operations this server answers, by wire name.
OPERATIONS: dict[str, Operation] = {
    **trails.OPERATIONS,
    **trail_selectors.OPERATIONS,
    **lookup.OPERATIONS,
    **channels.OPERATIONS,
    **tags.OPERATIONS,
    **keys.OPERATIONS,
}


@dataclass(frozen=True)
class JsonService:
    """A JSON 1.1 service on the port: its X-Amz-Target prefix, operations and audit eventSource."""

    name: str
    target_prefix: str
    operations: dict[str, Operation]
    event_source: str
    # A global service's calls are recorded in this region whatever region the client signed for, as
    # CloudTrail records them (Organizations: us-east-1).
    audit_region: str | None = None
    # The largest request body its calls take.
    max_body: int = MAX_API_BODY


# By SigV4 credential-scope service name.
JSON_SERVICES = {
    "cloudtrail": JsonService("CloudTrail", CLOUDTRAIL_TARGET_PREFIX, OPERATIONS, audit.EVENT_SOURCE),
    "organizations": JsonService(
        "Organizations",
        ORGANIZATIONS_TARGET_PREFIX,
        organizations_api.OPERATIONS,
        organizations_api.EVENT_SOURCE,
        audit_region="us-east-1",
    ),
    # -- CloudWatch Logs: a PutLogEvents batch holds up to 1 MiB of messages, which JSON escaping may
    # grow several times over (a control character is six bytes as \u0000).
    "logs": JsonService(
        "CloudWatch Logs",
        logs_api.TARGET_PREFIX,
        logs_api.OPERATIONS,
        logs_api.EVENT_SOURCE,
        max_body=8 * MAX_API_BODY,
    ),
}
