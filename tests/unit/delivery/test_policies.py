"""Topic policies (``delivery/policies.py``): the statement AWS documents for CloudTrail lets a trail
publish, conditioned on the trail or its account or not at all; what does not name CloudTrail, names
another trail or account, or is not understood does not; a Deny that may match wins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from opentrail.delivery.policies import allows_cloudtrail

TOPIC = "arn:aws:sns:us-east-1:123456789012:trail-topic"
TRAIL = "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit"


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Sid": "AWSCloudTrailSNSPolicy20131101",
        "Effect": "Allow",
        "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "SNS:Publish",
        "Resource": TOPIC,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    "allowing",
    [
        statement(),
        statement(Condition={"StringEquals": {"AWS:SourceArn": TRAIL}}),
        statement(Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}}),
        statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}),
        statement(Condition={"StringLike": {"aws:SourceArn": ["arn:other", "arn:aws:cloudtrail:*"]}}),
        statement(Principal={"Service": ["config.amazonaws.com", "cloudtrail.amazonaws.com"]}),
        statement(Principal="*"),
        statement(Principal={"AWS": "*"}),
        statement(Action=["sns:Subscribe", "sns:publish"]),
        statement(Action="sns:*"),
        statement(Resource="arn:aws:sns:*:123456789012:*"),
        statement(Resource=None),
    ],
)
def test_statements_that_let_cloudtrail_publish(allowing: dict[str, Any]) -> None:
    assert allows_cloudtrail(policy(allowing), TOPIC, TRAIL)
    # A single statement need not be in a list.
    assert allows_cloudtrail(json.dumps({"Statement": allowing}), TOPIC, TRAIL)


@pytest.mark.parametrize(
    "refusing",
    [
        statement(Condition={"StringEquals": {"aws:SourceArn": TRAIL.replace("audit", "other")}}),
        statement(Condition={"StringEquals": {"aws:SourceAccount": "444455556666"}}),
        # moto's and SNS's default statement: any principal, but only for the topic owner's own calls.
        statement(Principal={"AWS": "*"}, Condition={"StringEquals": {"AWS:SourceOwner": "123456789012"}}),
        statement(Condition={"Bool": {"aws:SecureTransport": "true"}}),
        statement(Principal={"Service": "s3.amazonaws.com"}),
        statement(Principal={"AWS": "arn:aws:iam::123456789012:root"}),
        statement(Action="SNS:Subscribe"),
        statement(Resource="arn:aws:sns:us-east-1:123456789012:another-topic"),
        statement(Effect="Deny"),
        statement(NotAction="SNS:Subscribe"),
    ],
)
def test_statements_that_do_not(refusing: dict[str, Any]) -> None:
    assert not allows_cloudtrail(policy(refusing), TOPIC, TRAIL)


@pytest.mark.parametrize(
    "deny",
    [
        statement(Effect="Deny"),
        statement(Effect="Deny", Principal="*", Action="*"),
        statement(Effect="Deny", Condition={"StringEquals": {"aws:SourceAccount": "111122223333"}}),
        # A Deny this module cannot read could apply: it refuses.
        statement(Effect="Deny", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        statement(Effect="Deny", NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}),
    ],
)
def test_a_deny_that_may_apply_wins(deny: dict[str, Any]) -> None:
    assert not allows_cloudtrail(policy(statement(), deny), TOPIC, TRAIL)


def test_a_deny_for_another_trail_does_not() -> None:
    other = statement(Effect="Deny", Condition={"StringEquals": {"aws:SourceArn": TRAIL + "-2"}})
    assert allows_cloudtrail(policy(statement(), other), TOPIC, TRAIL)


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[]", '{"Statement": "x"}', '{"Statement": [1, "x"]}', '{"Version": "2012-10-17"}'],
)
def test_an_empty_or_malformed_policy_lets_nobody_in(text: str) -> None:
    assert not allows_cloudtrail(text, TOPIC, TRAIL)
