"""``ListPublicKeys``: the public halves of the caller's digest-signing keys (reference §2.14, §5.7).

Returns every key of the caller's account and region whose published validity overlaps
[StartTime, EndTime]; each absent time is "now", so a bare call returns the key(s) valid now. CloudTrail
returns the keys that signed digests in the window; overlap with the validity window is the same set
whenever every key signs throughout its window, and ``validate-logs`` widens its window by two hours
anyway.

Keys are made by digest signing, never by this call: a read creates nothing, and an account or region
that has signed no digest has no key, exactly as in CloudTrail, where validate-logs then reports
"No public keys found" only when there are no digests to check either.

``Value`` is the PKCS#1 DER bytes; the JSON encoder writes bytes as base64, which is the blob encoding
botocore expects. ``NextToken`` is reserved: every key fits one page, so none is issued and any token
sent is refused.
"""

from __future__ import annotations

from typing import Any

from opentrail import params as p
from opentrail.context import Call
from opentrail.delivery.signing import keys_between
from opentrail.errors import InvalidTimeRange, InvalidToken

# What a (future) NextToken would be bound to; not a secret.
_TOKEN_SCOPE = "ListPublicKeys"  # noqa: S105 - a scope name, not a password


def list_public_keys(call: Call, params: p.Params) -> dict[str, Any]:
    token = p.string(params, "NextToken", error=InvalidToken)
    if token is not None:
        # Never issued, so this always refuses; opening it keeps one path if paging is ever needed.
        call.services.sealer.open(token, _TOKEN_SCOPE, error=InvalidToken)
    start = p.time_bound(params, "StartTime")
    end = p.time_bound(params, "EndTime")
    now = call.now
    start_at = now if start is None else float(start)
    end_at = now if end is None else float(end)
    if start_at > end_at:
        raise InvalidTimeRange(
            f"StartTime {_shown(start, start_at)} is after EndTime {_shown(end, end_at)}; "
            "the start of the time range must be at or before its end"
        )
    keys = keys_between(call.store, call.account, call.region, start_at, end_at)
    return {
        "PublicKeyList": [
            {
                "Value": key.der,
                "ValidityStartTime": key.valid_from,
                "ValidityEndTime": key.valid_until,
                "Fingerprint": key.fingerprint,
            }
            for key in keys
        ]
    }


def _shown(given: float | int | None, used: float) -> str:
    return repr(given) if given is not None else f"{used!r} (now, the default)"


OPERATIONS = {"ListPublicKeys": list_public_keys}
