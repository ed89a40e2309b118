"""CloudTrail's identifiers (``arns.py``): every trail-name rule of reference §2.1, each answered with
CloudTrail's own text in CloudTrail's order, and trail ARNs (a name or a full ARN wherever a trail is
named; a malformed ARN is CloudTrailARNInvalidException, not InvalidTrailNameException)."""

from __future__ import annotations

import pytest

from opentrail.arns import (
    ResourceArn,
    check_resource_id,
    check_trail_name,
    parse_cloudtrail_arn,
    parse_trail_id,
    trail_arn,
)
from opentrail.errors import ChannelARNInvalid, CloudTrailARNInvalid, InvalidTrailName
from tests.support.trails import (
    NAME_ADJACENT,
    NAME_CHARS,
    NAME_ENDS,
    NAME_IP_ADDRESS,
    NAME_STARTS,
    NAME_TOO_LONG,
    NAME_TOO_SHORT,
)

ARN = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/my.trail_1-a"


@pytest.mark.parametrize(
    "name",
    ["abc", "a" * 128, "My.Trail_1-a", "0trail9", "a.b_c-d", "1.2.3.4.5", "x192.168.5.4"],
)
def test_valid_names(name: str) -> None:
    check_trail_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        # CloudTrail's texts and order as moto's tests pin them (tests/test_cloudtrail/test_cloudtrail.py:
        # "a", "aa", "a" * 129, "trail!", "my#trail", "-trail").
        ("a", NAME_TOO_SHORT.format(1)),
        ("aa", NAME_TOO_SHORT.format(2)),
        ("", NAME_TOO_SHORT.format(0)),
        ("a" * 129, NAME_TOO_LONG.format(129)),
        ("trail!", NAME_ENDS),
        ("my#trail", NAME_CHARS),
        ("-trail", NAME_STARTS),
        # Only ASCII letters, digits, '.', '_' and '-'.
        ("my trail", NAME_CHARS),
        ("my/trail", NAME_CHARS),
        ("tráil", NAME_CHARS),
        ("trail\n", NAME_ENDS),
        ("ätrail", NAME_STARTS),
        # Starts and ends with a letter or a digit: checked before the characters.
        ("trail.", NAME_ENDS),
        ("_trail", NAME_STARTS),
        ("-my/trail", NAME_STARTS),
        # No two adjacent separators.
        ("my-_x", NAME_ADJACENT),
        ("my--x", NAME_ADJACENT),
        ("my._x", NAME_ADJACENT),
        ("my..x", NAME_ADJACENT),
        # Not formatted as an IPv4 address.
        ("192.168.5.4", NAME_IP_ADDRESS),
        ("10.0.0.1", NAME_IP_ADDRESS),
    ],
)
def test_each_rule_answers_cloudtrails_text(name: str, message: str) -> None:
    with pytest.raises(InvalidTrailName) as caught:
        check_trail_name(name)
    assert caught.value.message == message


def test_the_error_class_is_the_callers() -> None:
    with pytest.raises(CloudTrailARNInvalid) as caught:
        check_trail_name("ab", CloudTrailARNInvalid)
    assert caught.value.message == NAME_TOO_SHORT.format(2)


def test_trail_arn_form() -> None:
    assert trail_arn("eu-west-1", "111122223333", "my.trail_1-a") == ARN


def test_a_bare_name_is_a_name_and_an_arn_names_its_trail() -> None:
    bare = parse_trail_id("my-trail")
    assert (bare.text, bare.name, bare.arn) == ("my-trail", "my-trail", None)
    full = parse_trail_id(ARN)
    assert (full.text, full.name) == (ARN, "my.trail_1-a")
    assert full.arn == ResourceArn(ARN, "eu-west-1", "111122223333", "trail", "my.trail_1-a")


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:cloudtrail:us-east-1:11112222333:trail/short-account",
        "arn:aws:cloudtrail:us-east-1:111122223333:trail",
        "arn:aws:s3:us-east-1:111122223333:trail/t1x",
        "arn:aws:cloudtrail:US-EAST-1:111122223333:trail/t1x",
        "arn:nope:cloudtrail:us-east-1:111122223333:trail/t1x",
        "arn:",
    ],
)
def test_a_malformed_arn_is_cloudtrail_arn_invalid(value: str) -> None:
    with pytest.raises(CloudTrailARNInvalid, match="is not a valid CloudTrail ARN"):
        parse_trail_id(value)


def test_an_arn_of_another_resource_type_is_not_a_trail() -> None:
    with pytest.raises(CloudTrailARNInvalid, match="is a channel ARN, not a trail ARN"):
        parse_trail_id("arn:aws:cloudtrail:us-east-1:111122223333:channel/abc")


def test_a_bad_name_inside_an_arn_is_cloudtrail_arn_invalid() -> None:
    with pytest.raises(CloudTrailARNInvalid) as caught:
        parse_trail_id("arn:aws:cloudtrail:us-east-1:111122223333:trail/my--trail")
    assert caught.value.message == NAME_ADJACENT


def test_a_bad_bare_name_is_invalid_trail_name() -> None:
    with pytest.raises(InvalidTrailName):
        parse_trail_id("my--trail")


def test_other_partitions_and_resource_types_parse() -> None:
    parsed = parse_cloudtrail_arn("arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:eventdatastore/e-1")
    assert (parsed.region, parsed.account, parsed.type, parsed.id) == (
        "us-gov-west-1",
        "111122223333",
        "eventdatastore",
        "e-1",
    )
    # The text is kept as given: documents are stored under it.
    assert parsed.arn == "arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:eventdatastore/e-1"


def test_resource_ids() -> None:
    ok = parse_cloudtrail_arn("arn:aws:cloudtrail:us-east-1:111122223333:channel/" + "c" * 128)
    check_resource_id(ok, ChannelARNInvalid)
    for bad in ("", "c" * 129, "a/b", "a b"):
        arn = parse_cloudtrail_arn(f"arn:aws:cloudtrail:us-east-1:111122223333:channel/{bad}")
        with pytest.raises(ChannelARNInvalid, match="is not a valid channel ARN"):
            check_resource_id(arn, ChannelARNInvalid)
