"""The AWS Organizations subset (``organizations/operations.py``) in process: who may call what (the
management account manages, members describe, others are not in use), the wire shapes in botocore's
organizations member names, InvalidInputException reasons from the model's enum, and membership changes
announced to every organization trail of the management account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from opentrail import errors
from opentrail.organizations import accounts
from opentrail.organizations import operations as ops
from tests.support.calls import Env
from tests.support.documents import put_trail
from tests.support.services import open_env

MANAGEMENT, OUTSIDER = "111111111111", "333333333333"
MODEL = botocore.session.get_session().get_service_model("organizations")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        ops.create_organization(env.call(MANAGEMENT), {})
        yield env


def new_member(env: Env, email: str = "member@example.com") -> str:
    status = ops.create_account(env.call(MANAGEMENT), {"Email": email, "AccountName": "member"})
    account: str = status["CreateAccountStatus"]["AccountId"]
    return account


def add_trail(env: Env, name: str, organization: bool) -> str:
    return put_trail(env.store, MANAGEMENT, name, is_organization_trail=organization).trail_arn


def members(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def test_the_wire_shapes_use_the_models_member_names(env: Env) -> None:
    org = ops.describe_organization(env.call(MANAGEMENT), {})["Organization"]
    assert set(org) == members("Organization")
    member = new_member(env)
    account = ops.describe_account(env.call(MANAGEMENT), {"AccountId": member})["Account"]
    assert set(account) <= members("Account")
    assert (account["Id"], account["JoinedMethod"], account["Status"]) == (member, "CREATED", "ACTIVE")
    assert account["Arn"] == f"arn:aws:organizations::{MANAGEMENT}:account/{org['Id']}/{member}"
    assert org["MasterAccountId"] == MANAGEMENT


def test_a_created_account_is_a_real_account_with_root_credentials(env: Env) -> None:
    member = new_member(env)
    assert env.store.get_account(member) is not None
    key = accounts.root_key_of(env.store, member)
    assert key is not None
    assert key.is_root


def test_create_account_status_is_kept_and_a_repeated_email_fails_in_it(env: Env) -> None:
    call = env.call(MANAGEMENT)
    made = ops.create_account(call, {"Email": "a@example.com", "AccountName": "a"})["CreateAccountStatus"]
    assert set(made) <= members("CreateAccountStatus")
    assert made["State"] == "SUCCEEDED"
    again = ops.create_account(call, {"Email": "A@example.com", "AccountName": "b"})["CreateAccountStatus"]
    assert (again["State"], again["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "AccountId" not in again
    found = ops.describe_create_account_status(call, {"CreateAccountRequestId": made["Id"]})
    assert found["CreateAccountStatus"] == made
    with pytest.raises(errors.CreateAccountStatusNotFound):
        ops.describe_create_account_status(call, {"CreateAccountRequestId": "car-" + "0" * 32})


def test_who_may_call_what(env: Env) -> None:
    member = new_member(env)
    assert ops.describe_organization(env.call(member), {})["Organization"]["MasterAccountId"] == MANAGEMENT
    with pytest.raises(errors.OrganizationsAccessDenied, match="only its management account") as denied:
        ops.list_accounts(env.call(member), {})
    assert denied.value.status == 400  # Organizations' AccessDeniedException, not the protocol's 403
    # AWS Organizations' own texts (moto/organizations/exceptions.py).
    with pytest.raises(errors.AWSOrganizationsNotInUse) as caught:
        ops.describe_organization(env.call(OUTSIDER), {})
    assert caught.value.message == "Your account is not a member of an organization."
    with pytest.raises(errors.AlreadyInOrganization) as already:
        ops.create_organization(env.call(member), {})
    assert already.value.message == "The provided account is already a member of an organization."


@pytest.mark.parametrize(
    ("operation", "p", "reason"),
    [
        (ops.create_account, {"AccountName": "a"}, "INPUT_REQUIRED"),
        (ops.create_account, {"Email": "not-an-email", "AccountName": "a"}, "INVALID_PATTERN"),
        (ops.create_account, {"Email": "a@b.c", "AccountName": "a"}, "MIN_LENGTH_EXCEEDED"),
        (ops.create_account, {"Email": "a@example.com", "AccountName": "a" * 51}, "MAX_LENGTH_EXCEEDED"),
        (
            ops.create_account,
            {"Email": "a@example.com", "AccountName": "a", "RoleName": "a b"},
            "INVALID_PATTERN",
        ),
        (
            ops.create_account,
            {"Email": "a@example.com", "AccountName": "a", "IamUserAccessToBilling": "MAYBE"},
            "INVALID_ENUM",
        ),
        (ops.describe_account, {"AccountId": "1234"}, "INVALID_PATTERN"),
        (ops.list_accounts, {"MaxResults": 0}, "MIN_VALUE_EXCEEDED"),
        (ops.list_accounts, {"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
        (ops.list_accounts, {"NextToken": "forged"}, "INVALID_NEXT_TOKEN"),
        (ops.describe_create_account_status, {"CreateAccountRequestId": "req-1"}, "INVALID_PATTERN"),
    ],
)
def test_bad_input_names_a_reason_of_the_models_enum(
    env: Env, operation: Any, p: dict[str, Any], reason: str
) -> None:
    with pytest.raises(errors.OrganizationsError) as caught:
        operation(env.call(MANAGEMENT), p)
    assert (caught.value.code, caught.value.reason) == ("InvalidInputException", reason)
    assert reason in MODEL.shape_for("InvalidInputException").members["Reason"].enum


def test_a_feature_set_outside_the_enum_is_refused(tmp_path: Path) -> None:
    for env in open_env(tmp_path):
        with pytest.raises(errors.InvalidInput, match="FeatureSet must be one of") as caught:
            ops.create_organization(env.call(OUTSIDER), {"FeatureSet": "SOME"})
        assert caught.value.reason == "INVALID_ENUM"
        made = ops.create_organization(env.call(OUTSIDER), {"FeatureSet": "CONSOLIDATED_BILLING"})
        assert made["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"


def test_list_accounts_pages_by_account_id(env: Env) -> None:
    made = sorted([MANAGEMENT, *(new_member(env, f"m{i}@example.com") for i in range(3))])
    call = env.call(MANAGEMENT)
    first = ops.list_accounts(call, {"MaxResults": 3})
    rest = ops.list_accounts(call, {"MaxResults": 3, "NextToken": first["NextToken"]})
    assert "NextToken" not in rest
    assert [a["Id"] for a in first["Accounts"] + rest["Accounts"]] == made


def test_membership_changes_reach_every_organization_trail(env: Env) -> None:
    add_trail(env, "org-trail", organization=True)
    add_trail(env, "own-trail", organization=False)
    covered: list[str] = []
    env.services.listeners.covered.append(lambda trail: covered.append(trail.name))
    member = new_member(env)
    ops.create_account(env.call(MANAGEMENT), {"Email": "member@example.com", "AccountName": "twice"})
    ops.remove_account_from_organization(env.call(MANAGEMENT), {"AccountId": member})
    # A failed CreateAccount changes no membership.
    assert covered == ["org-trail", "org-trail"]


def test_leaving_and_deleting(env: Env) -> None:
    call = env.call(MANAGEMENT)
    with pytest.raises(errors.MasterCannotLeaveOrganization):
        ops.remove_account_from_organization(call, {"AccountId": MANAGEMENT})
    member = new_member(env)
    # AWS Organizations' own texts (moto/organizations/exceptions.py).
    with pytest.raises(errors.OrganizationNotEmpty) as not_empty:
        ops.delete_organization(call, {})
    assert not_empty.value.message == (
        "To delete an organization you must first remove all member accounts (except the master)."
    )
    ops.remove_account_from_organization(call, {"AccountId": member})
    with pytest.raises(errors.AccountNotFound) as not_found:
        ops.remove_account_from_organization(call, {"AccountId": member})
    assert not_found.value.message == "You specified an account that doesn't exist."
    arn = add_trail(env, "org-trail", organization=True)
    with pytest.raises(errors.ConstraintViolation, match="has the organization trail"):
        ops.delete_organization(call, {})
    env.store.delete_doc("trail", MANAGEMENT, arn)
    assert ops.delete_organization(call, {}) == {}
    with pytest.raises(errors.AWSOrganizationsNotInUse):
        ops.describe_organization(call, {})
