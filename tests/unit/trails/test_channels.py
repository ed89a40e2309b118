"""CloudTrail Lake channels (``trails/channels.py``) in process: a channel named by ARN or id, private to
its account and region (another's is reported exactly like one that does not exist), the rules of
CreateChannel and UpdateChannel, ListChannels' pages, and what PutAuditEvents records in a channel's
IngestionStatus (reference §2.18, §6)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail import errors
from opentrail.clock import FixedClock
from opentrail.ingest import audit_events
from opentrail.trails import channels
from tests.support.calls import Env
from tests.support.channel_calls import EDS, OTHER, OWNER, channel_env, create
from tests.support.services import START


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START + 0.5)


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    yield from channel_env(tmp_path, clock)


def test_a_channel_is_named_by_arn_or_by_id(env: Env) -> None:
    made = create(env, "named")
    arn = made["ChannelArn"]
    assert arn == f"arn:aws:cloudtrail:us-east-1:{OWNER}:channel/channel-0000"
    by_arn = channels.get_channel(env.call(OWNER), {"Channel": arn})
    by_id = channels.get_channel(env.call(OWNER), {"Channel": "channel-0000"})
    assert by_arn == by_id
    assert by_arn == {
        "ChannelArn": arn,
        "Name": "named",
        "Source": "Custom",
        "Destinations": [{"Type": "EVENT_DATA_STORE", "Location": EDS}],
        "SourceConfig": {"ApplyToAllRegions": False, "AdvancedEventSelectors": []},
        "IngestionStatus": {},
    }


def test_parse_ref_marks_what_is_not_the_callers(env: Env) -> None:
    call = env.call(OWNER)
    for foreign in (
        f"arn:aws:cloudtrail:eu-west-1:{OWNER}:channel/abc",
        f"arn:aws:cloudtrail:us-east-1:{OTHER}:channel/abc",
        f"arn:aws-cn:cloudtrail:us-east-1:{OWNER}:channel/abc",
    ):
        assert channels.parse_ref(foreign, call, errors.ChannelARNInvalid).foreign
    own = channels.parse_ref("abc", call, errors.ChannelARNInvalid)
    assert (own.arn, own.foreign) == (f"arn:aws:cloudtrail:us-east-1:{OWNER}:channel/abc", False)
    for bad in ("ab", "a b c", f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/abc", "arn:x"):
        with pytest.raises(errors.ChannelARNInvalid):
            channels.parse_ref(bad, call, errors.ChannelARNInvalid)


def test_another_accounts_or_regions_channel_is_not_found(env: Env) -> None:
    arn = create(env, "private")["ChannelArn"]
    for account, region in ((OTHER, "us-east-1"), (OWNER, "eu-west-1")):
        with pytest.raises(errors.ChannelNotFound, match=f"was not found in account {account} in {region}"):
            channels.get_channel(env.call(account, region), {"Channel": arn})


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"Name": "ab"}, errors.InvalidParameter, "Name must be 3-128 characters"),
        ({"Name": "a b c"}, errors.InvalidParameter, "Name must be 3-128 characters"),
        ({"Source": "Partner"}, errors.InvalidSource, "Source must be 'Custom'"),
        ({"Destinations": []}, errors.InvalidParameter, "between 1 and 200 destinations, got 0"),
        ({"Destinations": [{"Type": "S3", "Location": EDS}]}, errors.InvalidParameter, "Type must be one of"),
        ({"Destinations": [{"Type": "AWS_SERVICE"}]}, errors.InvalidParameter, "Location is required"),
        (
            {"Destinations": [{"Type": "EVENT_DATA_STORE", "Location": EDS}] * 2},
            errors.InvalidParameter,
            "repeats destination",
        ),
        (
            {"Destinations": [{"Type": "EVENT_DATA_STORE", "Location": EDS.replace(OWNER, OTHER)}]},
            errors.EventDataStoreARNInvalid,
            "names an event data store of another account",
        ),
        (
            {"Destinations": [{"Type": "EVENT_DATA_STORE", "Location": "arn:aws:s3:::bucket"}]},
            errors.EventDataStoreARNInvalid,
            "is not an event data store ARN",
        ),
        ({"Tags": [{"Key": "k"}] * 2}, errors.InvalidTagParameter, "repeats the key 'k'"),
        ({"Tags": [{"Key": f"k{i}"} for i in range(51)]}, errors.TagsLimitExceeded, "at most 50"),
    ],
)
def test_create_channel_refuses(
    env: Env, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create(env, changes.pop("Name", "refused"), **changes)


def test_an_event_data_store_may_be_named_by_id(env: Env) -> None:
    made = create(env, "by-id", Destinations=[{"Type": "EVENT_DATA_STORE", "Location": "eds-1"}])
    assert made["Destinations"] == [{"Type": "EVENT_DATA_STORE", "Location": "eds-1"}]


def test_names_are_unique_and_25_a_region(env: Env) -> None:
    create(env, "taken")
    with pytest.raises(
        errors.ChannelAlreadyExists, match="a channel named taken already exists in us-east-1"
    ):
        create(env, "taken")
    create(env, "taken", region="eu-west-1")  # another region
    create(env, "taken", account=OTHER)  # another account
    for i in range(24):
        create(env, f"more-{i}")
    with pytest.raises(errors.ChannelMaxLimitExceeded, match="already has 25 channels in us-east-1"):
        create(env, "one-too-many")


def test_tags_are_echoed_only_when_given(env: Env) -> None:
    assert "Tags" not in create(env, "untagged")
    tagged = create(env, "tagged", Tags=[{"Key": "k"}, {"Key": "j", "Value": "v"}])
    assert tagged["Tags"] == [{"Key": "k"}, {"Key": "j", "Value": "v"}]


def test_list_channels_pages_by_name(env: Env) -> None:
    for name in ("charlie", "alpha", "bravo"):
        create(env, name)
    create(env, "elsewhere", region="eu-west-1")
    call = env.call(OWNER)
    first = channels.list_channels(call, {"MaxResults": 2})
    assert [c["Name"] for c in first["Channels"]] == ["alpha", "bravo"]
    rest = channels.list_channels(call, {"MaxResults": 2, "NextToken": first["NextToken"]})
    assert [c["Name"] for c in rest["Channels"]] == ["charlie"]
    assert "NextToken" not in rest
    with pytest.raises(errors.InvalidNextToken):
        channels.list_channels(env.call(OWNER, "eu-west-1"), {"NextToken": first["NextToken"]})
    for bad in (0, 1001):
        with pytest.raises(errors.InvalidMaxResults, match=f"between 1 and 1000, got {bad}"):
            channels.list_channels(call, {"MaxResults": bad})


def test_update_renames_and_replaces_destinations(env: Env) -> None:
    arn = create(env, "before")["ChannelArn"]
    create(env, "other")
    call = env.call(OWNER)
    with pytest.raises(errors.ChannelAlreadyExists):
        channels.update_channel(call, {"Channel": arn, "Name": "other"})
    moved = [{"Type": "AWS_SERVICE", "Location": "some-service"}]
    updated = channels.update_channel(call, {"Channel": arn, "Name": "after", "Destinations": moved})
    assert (updated["ChannelArn"], updated["Name"], updated["Destinations"]) == (arn, "after", moved)
    kept = channels.update_channel(call, {"Channel": arn})
    assert (kept["Name"], kept["Destinations"]) == ("after", moved)


def test_update_checks_its_members_before_looking_the_channel_up(env: Env) -> None:
    missing = f"arn:aws:cloudtrail:us-east-1:{OWNER}:channel/missing"
    with pytest.raises(errors.InvalidParameter):
        channels.update_channel(env.call(OWNER), {"Channel": missing, "Name": "no spaces allowed"})
    with pytest.raises(errors.ChannelNotFound):
        channels.update_channel(env.call(OWNER), {"Channel": missing, "Name": "fine"})


def test_delete_channel(env: Env) -> None:
    arn = create(env, "doomed")["ChannelArn"]
    assert channels.delete_channel(env.call(OWNER), {"Channel": arn}) == {}
    with pytest.raises(errors.ChannelNotFound):
        channels.delete_channel(env.call(OWNER), {"Channel": arn})


def put(env: Env, query: dict[str, str], body: bytes, account: str = OWNER) -> dict[str, Any]:
    return asyncio.run(audit_events.put_audit_events(env.call(account), query, body))
