"""Topic policies: whether an SNS topic's access policy lets CloudTrail publish a trail's notifications
(or CloudWatch an alarm's: ``allows_service`` with ``cloudwatch.amazonaws.com``, the alarm's ARN as the
source).

CloudTrail answers InsufficientSnsTopicPolicy when the topic's policy does not let the service principal
``cloudtrail.amazonaws.com`` call ``SNS:Publish`` on it; AWS documents the statement to add, optionally
conditioned on the trail (``aws:SourceArn``) or its account (``aws:SourceAccount``). OpenTrail plays
CloudTrail for every account it hosts while publishing with one set of credentials, so this check is what
keeps one account's trails off another's topics (the confused deputy AWS's conditions exist to stop).

This is not a full IAM evaluator: it reads what CloudTrail's own statements use and is conservative
about the rest. An ``Allow`` counts only if everything in it is understood and matches; a ``Deny`` that
could match (anything in it not understood counts as matching) refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

SERVICE = "cloudtrail.amazonaws.com"
ACTION = "sns:publish"

# Condition operators over strings and ARNs: exact (case-sensitive) or with * and ? wildcards.
_EXACT = {"stringequals", "arnequals"}
_LIKE = {"stringlike", "arnlike"}


def allows_cloudtrail(policy: str, topic_arn: str, trail_arn: str) -> bool:
    """Whether ``policy`` (the topic's ``Policy`` attribute, JSON) lets CloudTrail publish to
    ``topic_arn`` for the trail ``trail_arn``. An empty, malformed or unrelated policy does not."""
    return allows_service(policy, topic_arn, trail_arn, SERVICE)


def allows_service(policy: str, topic_arn: str, source_arn: str, service: str) -> bool:
    """Whether ``policy`` lets the service principal ``service`` publish to ``topic_arn`` on behalf of
    ``source_arn`` (``aws:SourceArn``; its account is ``aws:SourceAccount``)."""
    try:
        document = json.loads(policy) if policy else {}
    except ValueError:
        return False
    statements = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_arn.split(":")[4]}
    allowed = False
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        verdict = _applies(statement, topic_arn, context, service)
        effect = statement.get("Effect")
        if effect == "Deny" and verdict is not False:
            return False
        if effect == "Allow" and verdict is True:
            allowed = True
    return allowed


def _applies(statement: dict[str, Any], topic_arn: str, context: dict[str, str], service: str) -> bool | None:
    """True: the statement covers the service publishing here; False: it does not; None: it says things
    this module does not read (NotPrincipal, NotAction, NotResource, other condition keys)."""
    if any(key in statement for key in ("NotPrincipal", "NotAction", "NotResource")):
        return None
    checks: list[bool | None] = [
        _principal(statement.get("Principal"), service),
        _any(statement.get("Action"), lambda pattern: fnmatchcase(ACTION, pattern.lower())),
        _any(statement.get("Resource", "*"), lambda pattern: fnmatchcase(topic_arn, pattern)),
        _conditions(statement.get("Condition"), context),
    ]
    if False in checks:
        return False
    return None if None in checks else True


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _any(value: Any, match: Callable[[str], bool]) -> bool:
    return any(isinstance(item, str) and match(item) for item in _values(value))


def _principal(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if _any(principal.get("Service"), lambda name: name == service):
        return True
    # {"AWS": "*"} is every principal, services included, as "*" is.
    return _any(principal.get("AWS"), lambda name: name == "*")


def _matcher(exact: bool, actual: str) -> Callable[[str], bool]:
    if exact:
        return lambda pattern: pattern == actual
    return lambda pattern: fnmatchcase(actual, pattern)


def _conditions(conditions: Any, context: dict[str, str]) -> bool | None:
    """Every condition holds (True), one fails (False), or one is not understood (None)."""
    if conditions is None:
        return True
    if not isinstance(conditions, dict):
        return None
    verdict: bool | None = True
    for operator, tests in conditions.items():
        op = str(operator).lower()
        if op not in _EXACT | _LIKE or not isinstance(tests, dict):
            verdict = None
            continue
        for key, wanted in tests.items():
            actual = context.get(str(key).lower())
            if actual is None:
                verdict = None
                continue

            if not _any(wanted, _matcher(op in _EXACT, actual)):
                return False
    return verdict
