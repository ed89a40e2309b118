"""How operations reach a stored trail: find it by name or ARN as the caller sees it, require it for
reading or for changing (only by its own account, from its home region), and change it atomically.

A multi-region trail is also visible from every other region as a *shadow trail*: readable there by ARN
(and listed by DescribeTrails), changeable only from its home region (reference §2.1, §2.6). An
organization trail's members see it read-only: readable by ARN, every change they try is
NotOrganizationMasterAccountException."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from opentrail import params
from opentrail.arns import TrailId, parse_trail_id, trail_arn
from opentrail.context import Call
from opentrail.errors import (
    ApiError,
    InvalidHomeRegion,
    InvalidTrailName,
    NotOrganizationMasterAccount,
    TrailNotFound,
)
from opentrail.organizations import model as organizations
from opentrail.store import Doc
from opentrail.trails.model import (
    KIND,
    RESOURCE_TYPE,
    Trail,
    decode,
)


def account_trails(call: Call) -> list[Trail]:
    trails = [decode(doc) for doc in call.store.list_docs(KIND, call.account)]
    return sorted(trails, key=lambda t: (t.home_region, t.name))


def not_found(call: Call, text: str) -> ApiError:
    # AWS's text (moto's TrailNotFoundException; elastic/cloudbeat#1750 shows AWS's own answer).
    return TrailNotFound(f"Unknown trail: {text[:300]} for the user: {call.account}")


def find(call: Call, ident: TrailId) -> Trail | None:
    """A bare name finds a trail homed in the call's region; an ARN finds the caller's trail in any region.
    Another account's ARN finds nothing: its trails are never shown, not even as "exists elsewhere" --
    except an organization trail of the caller's organization, which its members read by ARN."""
    if ident.arn is None:
        arn = trail_arn(call.region, call.account, ident.name)
    elif ident.arn.account != call.account:
        return _organization_trail(call, ident.arn.account, ident.arn.arn)
    else:
        arn = ident.arn.arn
    doc = call.store.get_doc(KIND, call.account, arn)
    return None if doc is None else decode(doc)


def _organization_trail(call: Call, owner: str, arn: str) -> Trail | None:
    org = organizations.of_account(call.store, call.account)
    if org is None or org.management != owner:
        return None
    doc = call.store.get_doc(KIND, owner, arn)
    trail = None if doc is None else decode(doc)
    return trail if trail is not None and trail.is_organization_trail else None


def organization_trails(call: Call) -> list[Trail]:
    """The organization trails a member account sees (none for a management account: they are its own)."""
    org = organizations.of_account(call.store, call.account)
    if org is None or org.management == call.account:
        return []
    found = [decode(doc) for doc in call.store.list_docs(KIND, org.management)]
    return sorted((t for t in found if t.is_organization_trail), key=lambda t: (t.home_region, t.name))


def require(call: Call, text: str, *, report_arn: bool = False) -> Trail:
    """The trail ``text`` (name or ARN) names, for reading; shadow trails are readable by ARN.

    ``report_arn``: a name that finds nothing is reported as the ARN it stands for, as AWS's
    GetTrailStatus and GetEventSelectors do ("Unknown trail: arn:aws:cloudtrail:us-west-2:704479110758:
    trail/name for the user: 704479110758", elastic/cloudbeat#1750; moto's get_trail_status does the
    same), where GetTrail repeats the name as given (moto's test_get_trail_unknown)."""
    ident = parse_trail_id(text)
    trail = find(call, ident)
    if trail is None:
        shown = trail_arn(call.region, call.account, ident.name) if report_arn and ident.arn is None else text
        raise not_found(call, shown)
    call.touch(RESOURCE_TYPE, trail.trail_arn)
    return trail


def require_home(call: Call, text: str) -> Trail:
    """The trail ``text`` names, for changing: only by its own account, from its home region."""
    trail = require(call, text)
    if trail.trail_arn.split(":")[4] != call.account:
        raise NotOrganizationMasterAccount(
            f"Trail {trail.trail_arn} is an organization trail of the management account "
            f"{trail.trail_arn.split(':')[4]}; member account {call.account} cannot change it"
        )
    if trail.home_region != call.region:
        raise InvalidHomeRegion(
            f"Trail {trail.trail_arn} can only be changed from its home region {trail.home_region}; this "
            f"call was made in {call.region}"
        )
    return trail


def trail_name(p: dict[str, Any], member: str = "Name") -> str:
    return params.required_string(p, member, error=InvalidTrailName)


def change(
    call: Call,
    trail: Trail,
    change: Callable[[Trail], Trail],
    check: Callable[[list[Doc], Doc], None] | None = None,
) -> Trail:
    """Apply ``change`` to the stored trail atomically (concurrent tag or selector changes survive)."""

    def apply(doc: Doc) -> Doc:
        new = change(decode(doc))
        doc.body = msgspec.to_builtins(new)
        return doc

    try:
        changed = decode(call.store.update_doc(KIND, call.account, trail.trail_arn, apply, check))
    except KeyError:
        raise not_found(call, trail.trail_arn) from None
    # Ingest decides from the trails whether a data event is stored at all: it must hear of this change.
    call.services.listeners.trail_changed(call.account, trail, changed)
    return changed
