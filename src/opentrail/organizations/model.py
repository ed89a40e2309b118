"""Organizations: a management account and its member accounts, as AWS Organizations models them.

An organization is one document of kind ``organization`` in its management account's name, keyed by
the organization's ARN. Its body is the ``Organization`` struct: the member list (the management
account first) and the CreateAccount requests, so DescribeCreateAccountStatus can answer for them.

An account belongs to at most one organization. Accounts join only by being created into one
(CreateAccount), so membership changes are single writes to that one document. This module is the
model and its lookups; the Organizations API is ``organizations.operations``, and trails and delivery read
membership through ``of_account`` and ``managed_by``.
"""

from __future__ import annotations

import string
from random import Random

import msgspec

from opentrail.store import Doc, Store

KIND = "organization"
# Organizations is a global service: its documents sit in no region.
REGION = "global"
ID_LENGTH = 10
_ID_ALPHABET = string.ascii_lowercase + string.digits


class Member(msgspec.Struct, kw_only=True):
    id: str
    name: str
    email: str
    joined_method: str  # INVITED (the management account) or CREATED
    joined: float


class CreateRequest(msgspec.Struct, kw_only=True):
    """One CreateAccount call: OpenTrail creates accounts at once, so each one has completed."""

    id: str
    account_name: str
    requested: float
    completed: float
    state: str  # SUCCEEDED or FAILED
    account_id: str | None = None
    failure_reason: str | None = None


class Organization(msgspec.Struct, kw_only=True):
    id: str
    management: str
    feature_set: str
    created: float
    members: list[Member]
    requests: list[CreateRequest] = msgspec.field(default_factory=list)

    @property
    def arn(self) -> str:
        return organization_arn(self.management, self.id)

    def account_arn(self, account: str) -> str:
        return f"arn:aws:organizations::{self.management}:account/{self.id}/{account}"

    def member(self, account: str) -> Member | None:
        return next((m for m in self.members if m.id == account), None)

    @property
    def management_member(self) -> Member:
        found = self.member(self.management)
        assert found is not None  # noqa: S101 - the management account never leaves its organization
        return found


def organization_arn(management: str, org_id: str) -> str:
    return f"arn:aws:organizations::{management}:organization/{org_id}"


def new_id(rng: Random) -> str:
    """``o-`` and ten lowercase letters and digits, as AWS makes them."""
    return "o-" + "".join(rng.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


def decode(doc: Doc) -> Organization:
    return msgspec.convert(doc.body, Organization)


def to_doc(org: Organization) -> Doc:
    return Doc(KIND, org.management, REGION, org.id, org.arn, msgspec.to_builtins(org))


def managed_by(store: Store, account: str) -> Organization | None:
    """The organization ``account`` manages, if any."""
    docs = store.list_docs(KIND, account)
    return decode(docs[0]) if docs else None


def of_account(store: Store, account: str) -> Organization | None:
    """The organization ``account`` belongs to (as its management account or a member), if any."""
    own = managed_by(store, account)
    if own is not None:
        return own
    # Few organizations per deployment (one per management account): a scan is cheaper than an index
    # the Store interface would have to grow for it.
    for doc in store.list_docs(KIND):
        org = decode(doc)
        if org.member(account) is not None:
            return org
    return None


def covered_accounts(store: Store, management: str) -> list[str]:
    """The accounts an organization trail of ``management`` covers: every member, the management
    account included (only itself when it manages no organization)."""
    org = managed_by(store, management)
    if org is None:
        return [management]
    return [m.id for m in org.members]
