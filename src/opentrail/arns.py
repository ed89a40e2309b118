"""CloudTrail's resource identifiers: trail names and the ARNs of trails, channels and other resources.

Names and ARNs are untrusted input that ends up in object keys and audit records, so each is checked
against CloudTrail's rules (reference §2.1) before anything is looked up. A broken trail-name rule is
answered with CloudTrail's own text; the other failures say which rule was broken.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from opentrail.errors import ApiError, CloudTrailARNInvalid, InvalidTrailName

PARTITION = "aws"
MIN_NAME, MAX_NAME = 3, 128
_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_ALNUM = re.compile(r"[A-Za-z0-9]")
_SEPARATORS = re.compile(r"[._-]{2}")
# arn:<partition>:cloudtrail:<region>:<account>:<type>/<id>
_CLOUDTRAIL_ARN = re.compile(
    r"arn:(aws(?:-[a-z]+)*):cloudtrail:([a-z0-9-]+):(\d{12}):([A-Za-z]+)/(.*)", re.DOTALL
)
_RESOURCE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
CLOUDTRAIL_ARN_FORM = "arn:aws:cloudtrail:<region>:<account-id>:trail/<name>"


def check_trail_name(name: str, error: type[ApiError] = InvalidTrailName) -> None:
    """CloudTrail's trail-name rules, checked in CloudTrail's order; raises ``error`` with CloudTrail's own
    text for the first rule ``name`` breaks (scripts and test suites match on these texts).

    Sources of the texts: moto's ``moto/cloudtrail/exceptions.py`` and its tests (length, first and last
    character, characters), which copied AWS's answers; the adjacent-separator and IP-address texts from
    ctyun OOS's CloudTrail clone (``CloudTrailAction.checkTrailNameFormat``), the first confirmed by a
    CDK preflight rule quoting CreateTrail's failure. The order is moto's: ``trail!`` is refused for its
    last character before its characters are looked at."""
    if len(name) < MIN_NAME:
        raise error(
            f"Trail name too short. Minimum allowed length: {MIN_NAME} characters. "
            f"Specified name length: {len(name)} characters."
        )
    if len(name) > MAX_NAME:
        raise error(
            f"Trail name too long. Maximum allowed length: {MAX_NAME} characters. "
            f"Specified name length: {len(name)} characters."
        )
    if not _ALNUM.fullmatch(name[0]):
        raise error("Trail name must starts with a letter or number.")
    if not _ALNUM.fullmatch(name[-1]):
        raise error("Trail name must ends with a letter or number.")
    if not _NAME_CHARS.fullmatch(name):
        raise error(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), "
            "hyphens (-), and underscores (_)."
        )
    if _SEPARATORS.search(name):
        raise error("Trail name or ARN cannot have adjacent periods (.), hyphens (-), or underscores (_).")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return
    raise error("Trail names must not be formatted as an IP address.")


def trail_arn(region: str, account: str, name: str) -> str:
    return f"arn:{PARTITION}:cloudtrail:{region}:{account}:trail/{name}"


@dataclass(frozen=True, slots=True)
class ResourceArn:
    """A parsed CloudTrail ARN. ``arn`` is the text as given (the key documents are stored under)."""

    arn: str
    region: str
    account: str
    type: str
    id: str


def parse_cloudtrail_arn(value: str, error: type[ApiError] = CloudTrailARNInvalid) -> ResourceArn:
    match = _CLOUDTRAIL_ARN.fullmatch(value)
    if match is None:
        raise error(
            f"{value[:300]!r} is not a valid CloudTrail ARN; expected the form {CLOUDTRAIL_ARN_FORM} "
            "(or channel/, eventdatastore/, dashboard/ in place of trail/)"
        )
    _, region, account, kind, resource_id = match.groups()
    return ResourceArn(value, region, account, kind, resource_id)


def check_resource_id(arn: ResourceArn, error: type[ApiError]) -> None:
    """The id part of a channel, event data store or dashboard ARN."""
    if not _RESOURCE_ID.fullmatch(arn.id):
        raise error(
            f"{arn.arn[:300]!r} is not a valid {arn.type} ARN: the id {arn.id[:140]!r} must be 1-128 "
            "letters, digits, '.', '_' or '-'"
        )


@dataclass(frozen=True, slots=True)
class TrailId:
    """A trail as a caller identified it: a bare name (current region) or a full ARN."""

    text: str
    name: str
    arn: ResourceArn | None = None


def parse_trail_id(value: str) -> TrailId:
    """A name or a trail ARN. A malformed ARN is ``CloudTrailARNInvalidException``, a bad name
    ``InvalidTrailNameException``."""
    if value.startswith("arn:"):
        arn = parse_cloudtrail_arn(value)
        if arn.type != "trail":
            raise CloudTrailARNInvalid(
                f"{value[:300]!r} is a {arn.type} ARN, not a trail ARN; expected {CLOUDTRAIL_ARN_FORM}"
            )
        check_trail_name(arn.id, CloudTrailARNInvalid)
        return TrailId(value, arn.id, arn)
    check_trail_name(value)
    return TrailId(value, value)
