"""The Organizations API through boto3: an organization's and its accounts' lifecycle, bad input, pages
of accounts, and its calls in the management account's event history."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client
from tests.support.organizations import Org, expect
from tests.support.server import Server, wait_for


def test_create_describe_and_the_account_lifecycle(server: Server) -> None:
    owner = server.new_account("owner")
    orgs = server.client("organizations", owner)
    expect("AWSOrganizationsNotInUseException", orgs.describe_organization)
    created = orgs.create_organization()["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", created["Id"])
    assert created["Arn"] == f"arn:aws:organizations::{owner.account_id}:organization/{created['Id']}"
    assert created["FeatureSet"] == "ALL"
    assert created["MasterAccountId"] == owner.account_id
    assert created["MasterAccountArn"] == (
        f"arn:aws:organizations::{owner.account_id}:account/{created['Id']}/{owner.account_id}"
    )
    assert orgs.describe_organization()["Organization"] == created
    expect("AlreadyInOrganizationException", orgs.create_organization, FeatureSet="ALL")

    status = orgs.create_account(Email="dev@example.com", AccountName="dev")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    assert re.fullmatch(r"car-[a-z0-9]{8,32}", status["Id"])
    assert re.fullmatch(r"\d{12}", status["AccountId"])
    polled = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
    assert polled == status
    account = orgs.describe_account(AccountId=status["AccountId"])["Account"]
    assert (
        account["Arn"] == f"arn:aws:organizations::{owner.account_id}:account/{created['Id']}/{account['Id']}"
    )
    assert (account["Name"], account["Email"], account["JoinedMethod"], account["Status"]) == (
        "dev",
        "dev@example.com",
        "CREATED",
        "ACTIVE",
    )
    duplicate = orgs.create_account(Email="DEV@example.com", AccountName="again")["CreateAccountStatus"]
    assert (duplicate["State"], duplicate["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS")
    assert "AccountId" not in duplicate

    listed = [a["Id"] for a in orgs.list_accounts()["Accounts"]]
    assert sorted(listed) == sorted([owner.account_id, status["AccountId"]])
    expect(
        "MasterCannotLeaveOrganizationException",
        orgs.remove_account_from_organization,
        AccountId=owner.account_id,
    )
    expect("OrganizationNotEmptyException", orgs.delete_organization)
    orgs.remove_account_from_organization(AccountId=status["AccountId"])
    expect("AccountNotFoundException", orgs.remove_account_from_organization, AccountId=status["AccountId"])
    expect("AccountNotFoundException", orgs.describe_account, AccountId=status["AccountId"])
    orgs.delete_organization()
    expect("AWSOrganizationsNotInUseException", orgs.describe_organization)


def test_bad_input_is_invalid_input_never_a_500(server: Server) -> None:
    org = Org.create(server)
    orgs = org.client("organizations")
    error = expect("InvalidInputException", orgs.list_accounts, MaxResults=21)
    assert error.get("Reason") == "MAX_VALUE_EXCEEDED"
    expect("InvalidInputException", orgs.list_accounts, NextToken="not-a-token")
    assert (
        expect("InvalidInputException", orgs.describe_account, AccountId="12345")["Reason"]
        == "INVALID_PATTERN"
    )
    expect("InvalidInputException", orgs.create_account, Email="not-an-email", AccountName="x")
    expect("InvalidInputException", orgs.create_account, Email="a@example.com", AccountName="x" * 51)
    expect("InvalidInputException", orgs.describe_create_account_status, CreateAccountRequestId="car-UPPER")
    expect(
        "CreateAccountStatusNotFoundException",
        orgs.describe_create_account_status,
        CreateAccountRequestId="car-" + "0" * 32,
    )
    outsider = server.client("organizations", server.new_account("outsider"))
    expect("InvalidInputException", outsider.create_organization, FeatureSet="SOME")
    creds = ReadOnlyCredentials(org.management.access_key_id, org.management.secret, None)
    with Client(server.endpoint, creds) as raw:
        for params in ({"AccountId": 12}, {"AccountId": ["x"]}):
            with pytest.raises(Exception, match="SerializationException"):
                raw.organizations("DescribeAccount", params)
        with pytest.raises(Exception, match="UnknownOperationException"):
            raw.organizations("InviteAccountToOrganization", {})


def test_list_accounts_pages(server: Server) -> None:
    org = Org.create(server)
    orgs = org.client("organizations")
    made = {
        orgs.create_account(Email=f"p{n}@example.com", AccountName=f"p{n}")["CreateAccountStatus"][
            "AccountId"
        ]
        for n in range(4)
    }
    seen: list[str] = []
    pages = 0
    for page in orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2}):
        pages += 1
        seen.extend(a["Id"] for a in page["Accounts"])
    assert pages == 3
    assert sorted(seen) == sorted(made | {org.management.account_id})


def test_organizations_calls_are_audited(server: Server) -> None:
    org = Org.create(server)
    # Signed for another region: Organizations is a global service, its calls are recorded in us-east-1.
    orgs = org.client("organizations", region="eu-west-1")
    orgs.describe_organization()
    expect("AccountNotFoundException", orgs.describe_account, AccountId="000000000000")
    cloudtrail = org.client("cloudtrail")

    def events() -> list[dict[str, Any]]:
        found = cloudtrail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": "organizations.amazonaws.com"}
            ]
        )["Events"]
        return (
            found
            if {"CreateOrganization", "DescribeOrganization", "DescribeAccount"}
            <= {e["EventName"] for e in found}
            else []
        )

    found = wait_for(events, "the Organizations calls in event history")
    failed = next(json.loads(e["CloudTrailEvent"]) for e in found if e["EventName"] == "DescribeAccount")
    assert failed["errorCode"] == "AccountNotFoundException"
    assert failed["recipientAccountId"] == org.management.account_id
    assert failed["eventSource"] == "organizations.amazonaws.com"
    assert failed["awsRegion"] == "us-east-1"
    elsewhere = org.client("cloudtrail", region="eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "organizations.amazonaws.com"}]
    )["Events"]
    assert elsewhere == []
