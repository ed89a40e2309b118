"""The AWS Organizations operations OpenTrail serves (JSON 1.1, ``AWSOrganizationsV20161128.<Op>``).

Enough of Organizations for organization trails and ``aws cloudtrail validate-logs --account-id``:
create, describe and delete an organization; create member accounts (real OpenTrail accounts with
root credentials of their own, which the API never returns, as AWS never does: ``opentrail account
credentials`` prints them on the server's host); describe, list and remove them.

Who may call what follows AWS: DescribeOrganization answers every account of the organization; the
rest answers the management account only (AccessDeniedException for members); an account in no
organization gets AWSOrganizationsNotInUseException. Shapes, patterns and error names are botocore's
organizations model (2016-11-28). Membership changes are announced to the trails' listeners, for each
organization trail whose covered accounts changed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from random import Random
from typing import Any

import msgspec

from opentrail.context import Call
from opentrail.errors import (
    AccountNotFound,
    AlreadyInOrganization,
    AWSOrganizationsNotInUse,
    ConcurrentModification,
    ConflictError,
    ConstraintViolation,
    CreateAccountStatusNotFound,
    InvalidInput,
    MasterCannotLeaveOrganization,
    OrganizationNotEmpty,
    OrganizationsAccessDenied,
    OrganizationsInvalidNextToken,
    SerializationException,
)
from opentrail.organizations import accounts
from opentrail.organizations import model as organizations
from opentrail.organizations.model import CreateRequest, Member, Organization
from opentrail.params import structure
from opentrail.trails import model as trails

EVENT_SOURCE = "organizations.amazonaws.com"
FEATURE_SETS = ("ALL", "CONSOLIDATED_BILLING")
MAX_ACCOUNTS = 1000
LIST_LIMIT = 20
_REQUEST_ID_ALPHABET = string.ascii_lowercase + string.digits


_ACCOUNT_ID = re.compile(r"\d{12}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_ACCOUNT_NAME = re.compile(r"[\u0020-\u007E]+")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_REQUEST_ID = re.compile(r"car-[a-z0-9]{8,32}")


# -- input ---------------------------------------------------------------------------------------------------


def _text(
    p: dict[str, Any],
    name: str,
    *,
    pattern: re.Pattern[str] | None = None,
    low: int = 0,
    high: int | None = None,
    required: bool = False,
) -> str | None:
    """A string member checked as the model declares it, with InvalidInputException's reasons."""
    value = p.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required but was not provided", "INPUT_REQUIRED")
        return None
    if not isinstance(value, str):
        raise SerializationException(f"{name} must be a string, got {type(value).__name__} {value!r}")
    if len(value) < low:
        raise InvalidInput(
            f"{name} must be at least {low} characters long, got {len(value)}", "MIN_LENGTH_EXCEEDED"
        )
    if high is not None and len(value) > high:
        raise InvalidInput(
            f"{name} must be at most {high} characters long, got {len(value)}", "MAX_LENGTH_EXCEEDED"
        )
    if pattern is not None and not pattern.fullmatch(value):
        raise InvalidInput(
            f"{name} {value[:80]!r} does not match the pattern {pattern.pattern}", "INVALID_PATTERN"
        )
    return value


def _required(p: dict[str, Any], name: str, **kwargs: Any) -> str:
    value = _text(p, name, required=True, **kwargs)
    assert value is not None  # noqa: S101 - required=True never returns None
    return value


def _account_id(p: dict[str, Any]) -> str:
    return _required(p, "AccountId", pattern=_ACCOUNT_ID, high=12)


# AWS Organizations' own texts, as moto copied them (moto/organizations/exceptions.py); scripts match on
# them. Where AWS's text is not known, the messages below are OpenTrail's.
NOT_IN_USE = "Your account is not a member of an organization."
ALREADY_IN_ORGANIZATION = "The provided account is already a member of an organization."
NOT_EMPTY = "To delete an organization you must first remove all member accounts (except the master)."
ACCOUNT_NOT_FOUND = "You specified an account that doesn't exist."


# -- who is calling ------------------------------------------------------------------------------------------


def _organization(call: Call) -> Organization:
    org = organizations.of_account(call.store, call.account)
    if org is None:
        raise AWSOrganizationsNotInUse(NOT_IN_USE)
    return org


def _managed(call: Call) -> Organization:
    """The caller's organization, when the caller is its management account."""
    org = _organization(call)
    if org.management != call.account:
        raise OrganizationsAccessDenied(
            f"You don't have permissions to access this resource: account {call.account} is a member of "
            f"organization {org.id}, and only its management account {org.management} may do this."
        )
    return org


def _change(call: Call, org: Organization, change: Callable[[Organization], Organization]) -> Organization:
    def apply(doc: Any) -> Any:
        doc.body = msgspec.to_builtins(change(organizations.decode(doc)))
        return doc

    try:
        return organizations.decode(call.store.update_doc(organizations.KIND, org.management, org.arn, apply))
    except KeyError:
        raise AWSOrganizationsNotInUse(NOT_IN_USE) from None


def _cover(call: Call, org: Organization) -> None:
    """Membership changed: each organization trail of the management account now covers the new set
    (delivery starts or ends the members' states; ingest's cached coverage of them is stale)."""
    for doc in call.store.list_docs(trails.KIND, org.management):
        trail = trails.decode(doc)
        if trail.is_organization_trail:
            call.services.listeners.coverage_changed(trail)


# -- wire shapes ---------------------------------------------------------------------------------------------


def organization_object(org: Organization) -> dict[str, Any]:
    return {
        "Id": org.id,
        "Arn": org.arn,
        "FeatureSet": org.feature_set,
        "MasterAccountArn": org.account_arn(org.management),
        "MasterAccountId": org.management,
        "MasterAccountEmail": org.management_member.email,
        "AvailablePolicyTypes": [],
    }


def account_object(org: Organization, member: Member) -> dict[str, Any]:
    return {
        "Id": member.id,
        "Arn": org.account_arn(member.id),
        "Email": member.email,
        "Name": member.name,
        "Status": "ACTIVE",
        "State": "ACTIVE",
        "JoinedMethod": member.joined_method,
        "JoinedTimestamp": member.joined,
    }


def status_object(request: CreateRequest) -> dict[str, Any]:
    status: dict[str, Any] = {
        "Id": request.id,
        "AccountName": request.account_name,
        "State": request.state,
        "RequestedTimestamp": request.requested,
        "CompletedTimestamp": request.completed,
    }
    if request.account_id is not None:
        status["AccountId"] = request.account_id
    if request.failure_reason is not None:
        status["FailureReason"] = request.failure_reason
    return status


# -- operations ----------------------------------------------------------------------------------------------


def create_organization(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    feature_set = _text(p, "FeatureSet") or "ALL"
    if feature_set not in FEATURE_SETS:
        raise InvalidInput(
            f"FeatureSet must be one of {', '.join(FEATURE_SETS)}, got {feature_set[:80]!r}", "INVALID_ENUM"
        )
    existing = organizations.of_account(call.store, call.account)
    if existing is not None:
        raise AlreadyInOrganization(ALREADY_IN_ORGANIZATION)
    now = round(call.now, 3)
    known = call.store.get_account(call.account)
    management = Member(
        id=call.account,
        name=known.name if known is not None else call.account,
        # OpenTrail accounts have no e-mail address; the model requires one for the management account.
        email=f"root+{call.account}@opentrail.invalid",
        joined_method="INVITED",
        joined=now,
    )
    org = Organization(
        id=organizations.new_id(call.services.rng),
        management=call.account,
        feature_set=feature_set,
        created=now,
        members=[management],
    )

    def alone(docs: list[Any]) -> None:
        if docs:
            raise AlreadyInOrganization(ALREADY_IN_ORGANIZATION)

    try:
        call.store.insert_doc(organizations.to_doc(org), check=alone)
    except ConflictError:
        raise ConcurrentModification("The organization was changed by another call; try again.") from None
    return {"Organization": organization_object(org)}


def describe_organization(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    return {"Organization": organization_object(_organization(call))}


def delete_organization(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    org = _managed(call)
    if len(org.members) > 1:
        raise OrganizationNotEmpty(NOT_EMPTY)
    for doc in call.store.list_docs(trails.KIND, org.management):
        if trails.decode(doc).is_organization_trail:
            # The trail's keys name the organization (AWSLogs/<o-id>/...): it must go first.
            raise ConstraintViolation(
                f"Organization {org.id} has the organization trail {doc.arn}; delete it or make it a "
                "single-account trail (UpdateTrail IsOrganizationTrail=false) first."
            )
    call.store.delete_doc(organizations.KIND, org.management, org.arn)
    return {}


def _request_id(rng: Random) -> str:
    return "car-" + "".join(rng.choice(_REQUEST_ID_ALPHABET) for _ in range(32))


def create_account(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    email = _required(p, "Email", pattern=_EMAIL, low=6, high=64)
    name = _required(p, "AccountName", pattern=_ACCOUNT_NAME, low=1, high=50)
    _text(p, "RoleName", pattern=_ROLE_NAME, high=64)
    billing = _text(p, "IamUserAccessToBilling")
    if billing is not None and billing not in ("ALLOW", "DENY"):
        raise InvalidInput(
            f"IamUserAccessToBilling must be ALLOW or DENY, got {billing[:80]!r}", "INVALID_ENUM"
        )
    tags = p.get("Tags")
    if tags is not None and not isinstance(tags, list):
        raise SerializationException(f"Tags must be a list, got {type(tags).__name__}")
    for index, tag in enumerate(tags or ()):
        # The form of every tag before the organization is looked up, as AWS's JSON protocol checks it.
        fields = structure(tag, f"Tags[{index}]")
        for field in ("Key", "Value"):
            if not isinstance(fields.get(field, ""), str):
                raise SerializationException(f"Tags[{index}].{field} must be a string")
    org = _managed(call)
    if len(org.members) >= MAX_ACCOUNTS:
        raise ConstraintViolation(
            f"Organization {org.id} has {len(org.members)} accounts, the most OpenTrail allows.",
            "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
        )
    now = round(call.now, 3)
    request = CreateRequest(
        id=_request_id(call.services.rng), account_name=name, requested=now, completed=now, state="SUCCEEDED"
    )
    member: Member | None = None
    if any(m.email.lower() == email.lower() for m in org.members):
        # AWS reports this in the request's status, not as an error of the call.
        request.state, request.failure_reason = "FAILED", "EMAIL_ALREADY_EXISTS"
    else:
        account, _ = accounts.new_account(call.store, call.services.clock, name, rng=call.services.rng)
        request.account_id = account.account_id
        member = Member(id=account.account_id, name=name, email=email, joined_method="CREATED", joined=now)

    def add(current: Organization) -> Organization:
        if member is not None:
            current.members.append(member)
        current.requests.append(request)
        return current

    org = _change(call, org, add)
    if request.account_id is not None:
        _cover(call, org)
    return {"CreateAccountStatus": status_object(request)}


def describe_create_account_status(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    wanted = _required(p, "CreateAccountRequestId", pattern=_REQUEST_ID, high=36)
    org = _managed(call)
    for request in org.requests:
        if request.id == wanted:
            return {"CreateAccountStatus": status_object(request)}
    raise CreateAccountStatusNotFound(f"No CreateAccount request {wanted} in organization {org.id}.")


def describe_account(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    wanted = _account_id(p)
    org = _managed(call)
    member = org.member(wanted)
    if member is None:
        raise AccountNotFound(ACCOUNT_NOT_FOUND)
    return {"Account": account_object(org, member)}


def list_accounts(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    limit = p.get("MaxResults")
    if limit is None:
        limit = LIST_LIMIT
    elif not isinstance(limit, int) or isinstance(limit, bool):
        raise SerializationException(f"MaxResults must be an integer, got {limit!r}")
    elif limit < 1:
        raise InvalidInput(
            f"MaxResults must be between 1 and {LIST_LIMIT}, got {limit}", "MIN_VALUE_EXCEEDED"
        )
    elif limit > LIST_LIMIT:
        raise InvalidInput(
            f"MaxResults must be between 1 and {LIST_LIMIT}, got {limit}", "MAX_VALUE_EXCEEDED"
        )
    token = _text(p, "NextToken")
    org = _managed(call)
    members = sorted(org.members, key=lambda m: m.id)
    scope = f"ListAccounts:{org.id}"
    if token is not None:
        after = call.services.sealer.open(token, scope, error=OrganizationsInvalidNextToken)
        if not isinstance(after, str):
            raise OrganizationsInvalidNextToken("NextToken is not a token ListAccounts issued")
        members = [m for m in members if m.id > after]
    page = members[:limit]
    result: dict[str, Any] = {"Accounts": [account_object(org, m) for m in page]}
    if len(members) > limit:
        result["NextToken"] = call.services.sealer.seal(scope, page[-1].id)
    return result


def remove_account_from_organization(call: Call, p: dict[str, Any]) -> dict[str, Any]:
    wanted = _account_id(p)
    org = _managed(call)
    if wanted == org.management:
        raise MasterCannotLeaveOrganization(
            f"Account {wanted} is the management account of organization {org.id} and cannot leave it; "
            "delete the organization instead."
        )

    def remove(current: Organization) -> Organization:
        if current.member(wanted) is None:
            raise AccountNotFound(ACCOUNT_NOT_FOUND)
        current.members = [m for m in current.members if m.id != wanted]
        return current

    org = _change(call, org, remove)
    _cover(call, org)
    return {}


OPERATIONS: dict[str, Callable[[Call, dict[str, Any]], dict[str, Any]]] = {
    "CreateOrganization": create_organization,
    "DescribeOrganization": describe_organization,
    "DeleteOrganization": delete_organization,
    "CreateAccount": create_account,
    "DescribeCreateAccountStatus": describe_create_account_status,
    "DescribeAccount": describe_account,
    "ListAccounts": list_accounts,
    "RemoveAccountFromOrganization": remove_account_from_organization,
}
