"""The organization model (``organizations/model.py``): ids and ARNs in the forms botocore's
organizations model declares, an organization surviving its document, and the membership lookups
trails and delivery use (which organization an account is in, which accounts an organization trail
covers)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest

from opentrail.organizations import model as organizations
from opentrail.organizations.model import CreateRequest, Organization
from opentrail.store import Store
from tests.support.documents import organization
from tests.support.services import sqlite_store

MANAGEMENT, MEMBER, OUTSIDER = "111111111111", "222222222222", "333333333333"
MODEL = botocore.session.get_session().get_service_model("organizations")


def pattern(shape: str) -> re.Pattern[str]:
    return re.compile(MODEL.shape_for(shape).metadata["pattern"])


def with_request(org: Organization) -> Organization:
    """``org`` with a completed CreateAccount request for its first member, as CreateAccount keeps one."""
    created = org.members[1].id if len(org.members) > 1 else None
    org.requests.append(
        CreateRequest(
            id="car-0123456789abcdef",
            account_name="member",
            requested=2.0,
            completed=2.0,
            state="SUCCEEDED",
            account_id=created,
        )
    )
    return org


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield from sqlite_store(tmp_path)


def test_new_ids_have_the_models_form_and_differ() -> None:
    ids = {organizations.new_id(secrets.SystemRandom()) for _ in range(50)}
    assert len(ids) == 50
    for org_id in ids:
        assert pattern("OrganizationId").fullmatch(org_id)
        assert len(org_id) == 12  # o- and ten, as AWS makes them


def test_arns_have_the_models_forms() -> None:
    org = organization(MANAGEMENT)
    assert org.arn == f"arn:aws:organizations::{MANAGEMENT}:organization/o-abcdefghij"
    assert pattern("OrganizationArn").fullmatch(org.arn)
    assert org.account_arn(MEMBER) == f"arn:aws:organizations::{MANAGEMENT}:account/o-abcdefghij/{MEMBER}"
    assert pattern("AccountArn").fullmatch(org.account_arn(MEMBER))
    assert organizations.organization_arn(MANAGEMENT, "o-abcdefghij") == org.arn


def test_an_organization_survives_its_document() -> None:
    org = with_request(organization(MANAGEMENT, MEMBER))
    doc = organizations.to_doc(org)
    # In its management account's name, in no region, keyed by its ARN.
    assert (doc.kind, doc.account, doc.region, doc.name, doc.arn) == (
        "organization",
        MANAGEMENT,
        "global",
        "o-abcdefghij",
        org.arn,
    )
    assert organizations.decode(doc) == org


def test_members_by_account() -> None:
    org = organization(MANAGEMENT, MEMBER)
    member = org.member(MEMBER)
    assert member is not None
    assert (member.id, member.joined_method) == (MEMBER, "CREATED")
    assert org.member(OUTSIDER) is None
    assert org.management_member.id == MANAGEMENT


def test_which_organization_an_account_is_in(store: Store) -> None:
    org = organization(MANAGEMENT, MEMBER)
    store.insert_doc(organizations.to_doc(org))
    store.insert_doc(organizations.to_doc(organization(OUTSIDER, org_id="o-klmnopqrst")))
    assert organizations.managed_by(store, MANAGEMENT) == org
    assert organizations.managed_by(store, MEMBER) is None  # a member manages nothing
    assert organizations.of_account(store, MANAGEMENT) == org
    assert organizations.of_account(store, MEMBER) == org
    other = organizations.of_account(store, OUTSIDER)
    assert other is not None
    assert other.id == "o-klmnopqrst"
    assert organizations.of_account(store, "444444444444") is None


def test_an_organization_trail_covers_every_member(store: Store) -> None:
    store.insert_doc(organizations.to_doc(organization(MANAGEMENT, MEMBER, OUTSIDER)))
    assert organizations.covered_accounts(store, MANAGEMENT) == [MANAGEMENT, MEMBER, OUTSIDER]
    # Without an organization it covers only its own account.
    assert organizations.covered_accounts(store, "444444444444") == ["444444444444"]
