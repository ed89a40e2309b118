"""How operations reach a stored trail (``trails/access.py``), against a real store: a bare name finds
the trail homed in the call's region, an ARN the caller's trail in any region (a shadow trail), another
account's ARN nothing -- unless it is an organization trail of the caller's organization, which members
read but never change; a change is atomic and announced to the trail listeners (reference §2.1, §2.6)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentrail.arns import parse_trail_id
from opentrail.errors import InvalidHomeRegion, InvalidTrailName, NotOrganizationMasterAccount, TrailNotFound
from opentrail.trails import access
from opentrail.trails.model import KIND, decode
from tests.support.calls import Env
from tests.support.documents import put_organization, put_trail
from tests.support.services import open_env

OWNER, MEMBER, OUTSIDER = "111111111111", "222222222222", "333333333333"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from open_env(tmp_path)


def test_a_bare_name_finds_the_trail_homed_in_the_calls_region(env: Env) -> None:
    east = put_trail(env.store, OWNER, "trail-1", "us-east-1")
    west = put_trail(env.store, OWNER, "trail-1", "eu-west-1")
    assert access.require(env.call(OWNER, "us-east-1"), "trail-1") == east
    assert access.require(env.call(OWNER, "eu-west-1"), "trail-1") == west
    with pytest.raises(TrailNotFound, match=f"^Unknown trail: trail-1 for the user: {OWNER}$"):
        access.require(env.call(OWNER, "ap-south-1"), "trail-1")


def test_a_multi_region_trail_is_found_elsewhere_by_arn_only(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "everywhere", "us-east-1", is_multi_region_trail=True)
    there = env.call(OWNER, "eu-west-1")
    assert access.require(there, trail.trail_arn) == trail
    with pytest.raises(TrailNotFound):
        access.require(there, "everywhere")


def test_an_arn_finds_the_callers_trail_in_any_region(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "home", "eu-west-1")
    assert access.require(env.call(OWNER, "us-east-1"), trail.trail_arn) == trail


def test_another_accounts_arn_finds_nothing(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "private")
    with pytest.raises(TrailNotFound, match=f"for the user: {OUTSIDER}"):
        access.require(env.call(OUTSIDER), trail.trail_arn)
    assert access.find(env.call(OUTSIDER), parse_trail_id(trail.trail_arn)) is None


def test_members_read_their_organizations_trail_by_arn(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER)
    shared = put_trail(env.store, OWNER, "org", is_organization_trail=True, organization_id="o-abcdefghij")
    own = put_trail(env.store, OWNER, "own")
    assert access.require(env.call(MEMBER), shared.trail_arn) == shared
    # The management account's other trails stay private, and outsiders see no organization trail.
    with pytest.raises(TrailNotFound):
        access.require(env.call(MEMBER), own.trail_arn)
    with pytest.raises(TrailNotFound):
        access.require(env.call(OUTSIDER), shared.trail_arn)
    # A bare name means the member's own trail of that name, never the organization's.
    with pytest.raises(TrailNotFound):
        access.require(env.call(MEMBER), "org")


def test_organization_trails_as_each_account_sees_them(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER)
    west = put_trail(env.store, OWNER, "org-w", "eu-west-1", is_organization_trail=True)
    east = put_trail(env.store, OWNER, "org-e", "us-east-1", is_organization_trail=True)
    put_trail(env.store, OWNER, "own")
    assert access.organization_trails(env.call(MEMBER)) == [west, east]  # by (home region, name)
    assert access.organization_trails(env.call(OWNER)) == []  # its own trails, not shadows
    assert access.organization_trails(env.call(OUTSIDER)) == []


def test_account_trails_are_the_accounts_own_by_region_then_name(env: Env) -> None:
    b = put_trail(env.store, OWNER, "b-trail", "us-east-1")
    a = put_trail(env.store, OWNER, "a-trail", "us-east-1")
    w = put_trail(env.store, OWNER, "z-trail", "eu-west-1")
    put_trail(env.store, OUTSIDER, "theirs")
    assert access.account_trails(env.call(OWNER)) == [w, a, b]


def test_require_names_the_trail_for_the_audit_record(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "audited")
    call = env.call(OWNER)
    access.require(call, "audited")
    assert call.resources == [{"accountId": OWNER, "type": "AWS::CloudTrail::Trail", "ARN": trail.trail_arn}]


def test_require_home_refuses_another_region(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "home", "us-east-1", is_multi_region_trail=True)
    assert access.require_home(env.call(OWNER, "us-east-1"), trail.trail_arn) == trail
    with pytest.raises(InvalidHomeRegion, match=r"only be changed from its home region us-east-1.*eu-west-1"):
        access.require_home(env.call(OWNER, "eu-west-1"), trail.trail_arn)


def test_require_home_refuses_a_member_account(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER)
    shared = put_trail(env.store, OWNER, "org", is_organization_trail=True)
    with pytest.raises(NotOrganizationMasterAccount, match=f"member account {MEMBER} cannot change it"):
        access.require_home(env.call(MEMBER), shared.trail_arn)


def test_trail_name_is_required_as_an_invalid_trail_name() -> None:
    assert access.trail_name({"TrailName": "trail-1"}, "TrailName") == "trail-1"
    with pytest.raises(InvalidTrailName, match="Name is required"):
        access.trail_name({})


def test_a_change_is_stored_and_announced_with_both_versions(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "changing")
    heard: list[tuple[str, bool]] = []
    env.services.listeners.changed.append(lambda account, organization: heard.append((account, organization)))
    changed = access.change(
        env.call(OWNER), trail, lambda t: msgspec.structs.replace(t, is_organization_trail=True)
    )
    assert changed.is_organization_trail
    stored = env.store.get_doc(KIND, OWNER, trail.trail_arn)
    assert stored is not None
    assert decode(stored) == changed
    # The old version was not an organization trail, the new one is: coverage changed.
    assert heard == [(OWNER, True)]


def test_a_change_applies_to_the_stored_trail_not_the_callers_copy(env: Env) -> None:
    """Concurrent changes (a tag added meanwhile) survive: the function sees what is stored now."""
    trail = put_trail(env.store, OWNER, "raced")
    access.change(env.call(OWNER), trail, lambda t: msgspec.structs.replace(t, s3_key_prefix="first"))
    changed = access.change(
        env.call(OWNER), trail, lambda t: msgspec.structs.replace(t, log_file_validation_enabled=True)
    )
    assert (changed.s3_key_prefix, changed.log_file_validation_enabled) == ("first", True)


def test_a_change_to_a_trail_deleted_meanwhile_is_not_found(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "gone")
    env.store.delete_doc(KIND, OWNER, trail.trail_arn)
    with pytest.raises(TrailNotFound, match=trail.trail_arn):
        access.change(env.call(OWNER), trail, lambda t: t)


def test_a_refused_check_changes_nothing(env: Env) -> None:
    trail = put_trail(env.store, OWNER, "checked")

    def refuse(_others: list[Any], _doc: Any) -> None:
        raise InvalidHomeRegion("refused by the check")

    with pytest.raises(InvalidHomeRegion, match="refused by the check"):
        access.change(
            env.call(OWNER), trail, lambda t: msgspec.structs.replace(t, s3_key_prefix="no"), refuse
        )
    stored = env.store.get_doc(KIND, OWNER, trail.trail_arn)
    assert stored is not None
    assert decode(stored) == trail
