"""Documents as the domains store them, put straight into a store: trails and organizations for
in-process tests that need them present without running the operations that make them."""

from __future__ import annotations

from typing import Any

from opentrail.organizations.model import Member, Organization
from opentrail.organizations.model import to_doc as organization_doc
from opentrail.store import Store
from opentrail.trails.model import Trail
from opentrail.trails.model import to_doc as trail_doc

ORGANIZATION_ID = "o-abcdefghij"


def member(account: str, joined_method: str = "CREATED", joined: float = 0.0) -> Member:
    return Member(
        id=account, name=account, email=f"{account}@example.com", joined_method=joined_method, joined=joined
    )


def organization(
    management: str, *members: str, feature_set: str = "ALL", org_id: str = ORGANIZATION_ID
) -> Organization:
    """``management``'s organization with ``members`` created into it."""
    return Organization(
        id=org_id,
        management=management,
        feature_set=feature_set,
        created=0.0,
        members=[member(management, "INVITED"), *(member(account) for account in members)],
    )


def put_organization(store: Store, management: str, *members: str, feature_set: str = "ALL") -> Organization:
    org = organization(management, *members, feature_set=feature_set)
    store.insert_doc(organization_doc(org))
    return org


def put_trail(store: Store, account: str, name: str, region: str = "us-east-1", **changes: Any) -> Trail:
    """A trail of ``account`` homed in ``region``, with ``changes`` applied."""
    trail = Trail(
        name=name,
        trail_arn=f"arn:aws:cloudtrail:{region}:{account}:trail/{name}",
        home_region=region,
        s3_bucket_name="trail-bucket",
        **changes,
    )
    store.insert_doc(trail_doc(trail, account))
    return trail
