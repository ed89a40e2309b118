"""nextToken for the Describe* listings and FilterLogEvents: sealed with the server's secret and bound
to the call's other parameters, so an edited token, or one reused with other parameters, is refused
(``InvalidParameterException``, as CloudWatch Logs answers a bad token)."""

from __future__ import annotations

from typing import Any

from opentrail import params
from opentrail.context import Call
from opentrail.errors import InvalidParameter
from opentrail.tokens import query_fingerprint


def scope(operation: str, call: Call, query: Any) -> str:
    return f"logs/{operation}/{call.account}/{call.region}/{query_fingerprint(query)}"


def position(call: Call, p: params.Params, scope_: str) -> Any:
    """Where the page starts: None for the first page, else what ``token`` sealed."""
    token = params.string(p, "nextToken")
    if token is None:
        return None
    return call.services.sealer.open(token, scope_, InvalidParameter, "nextToken")


def token(call: Call, scope_: str, where: Any) -> str:
    return call.services.sealer.seal(scope_, where)
