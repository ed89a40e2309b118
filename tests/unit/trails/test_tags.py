"""Tags (``trails/tags.py``): what a TagsList may hold, how added tags merge (a known key's value
replaced in place, new keys last, at most 50), and how AddTags, RemoveTags and ListTags find a resource
by ARN without revealing other accounts' (reference §2.15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentrail import errors
from opentrail.store import Doc
from opentrail.trails import tags
from opentrail.trails.model import Tag, Trail
from tests.support.calls import Env
from tests.support.documents import put_organization, put_trail
from tests.support.services import open_env

OWNER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/tagged"
CHANNEL_ARN = f"arn:aws:cloudtrail:us-east-1:{OWNER}:channel/c-1"


def entries(*pairs: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [{"Key": k} if v is None else {"Key": k, "Value": v} for k, v in pairs]


# -- a TagsList ----------------------------------------------------------------------------------------------


def test_keys_and_values_within_their_lengths() -> None:
    parsed = tags.parse_tags(entries(("k" * 128, "v" * 256), ("empty", ""), ("none", None)))
    assert parsed == [Tag("k" * 128, "v" * 256), Tag("empty", ""), Tag("none", None)]
    with pytest.raises(
        errors.InvalidTagParameter, match=r"TagsList\[0\].Key must be 1-128 characters long, got 129"
    ):
        tags.parse_tags(entries(("k" * 129, None)))
    with pytest.raises(
        errors.InvalidTagParameter, match=r"TagsList\[0\].Key must be 1-128 characters long, got 0"
    ):
        tags.parse_tags(entries(("", None)))
    with pytest.raises(
        errors.InvalidTagParameter, match=r"TagsList\[1\].Value must be 0-256 characters long"
    ):
        tags.parse_tags(entries(("ok", None), ("k", "v" * 257)))


def test_the_characters_tags_allow() -> None:
    tags.parse_tags(entries(("Cost Center_1.a:b/c=d+e-f@g", "Ünïcödé välue 9")))
    with pytest.raises(errors.InvalidTagParameter, match=r"contains '#\*'"):
        tags.parse_tags(entries(("bad*key#", None)))


@pytest.mark.parametrize("key", ["aws:created", "AWS:x", "Aws:y"])
def test_the_aws_prefix_is_reserved(key: str) -> None:
    with pytest.raises(errors.InvalidTagParameter, match="reserved prefix 'aws:'"):
        tags.parse_tags(entries((key, "v")))


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(errors.InvalidTagParameter, match="gives the tag key 'k' more than once"):
        tags.parse_tags(entries(("k", "1"), ("k", "2")))


def test_a_tag_needs_its_key_and_the_right_types() -> None:
    with pytest.raises(errors.InvalidTagParameter, match=r"TagsList\[0\].Key is required"):
        tags.parse_tags([{"Value": "v"}])
    with pytest.raises(errors.SerializationException):
        tags.parse_tags(["k"])
    with pytest.raises(errors.SerializationException):
        tags.parse_tags([{"Key": 1}])


def test_keys_only_ignores_values() -> None:
    """RemoveTags names keys; whatever value comes with them is not checked or kept."""
    assert tags.parse_tags(entries(("k", "v" * 300)), keys_only=True) == [Tag("k", None)]


def test_merge_replaces_in_place_and_appends_new_keys() -> None:
    existing = [Tag("a", "1"), Tag("b", "2")]
    merged = tags.merge(existing, [Tag("c", "3"), Tag("a", "new"), Tag("b")], TRAIL_ARN)
    assert merged == [Tag("a", "new"), Tag("b", None), Tag("c", "3")]


def test_a_resource_has_at_most_50_tags() -> None:
    fifty = [Tag(f"k{i}", "v") for i in range(50)]
    assert len(tags.merge(fifty[:49], fifty[49:], TRAIL_ARN)) == 50
    assert tags.merge(fifty, [Tag("k0", "changed")], TRAIL_ARN)[0] == Tag("k0", "changed")
    with pytest.raises(errors.TagsLimitExceeded, match=f"{TRAIL_ARN} would have 51 tags; the limit is 50"):
        tags.merge(fifty, [Tag("one-more")], TRAIL_ARN)


def test_stored_tags_read_the_documents_body() -> None:
    assert tags.stored_tags({}) == []
    assert tags.stored_tags({"Tags": [{"Key": "k"}, {"Key": "j", "Value": "v"}]}) == [Tag("k"), Tag("j", "v")]


# -- the operations ------------------------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        put_trail(env.store, OWNER, "tagged")
        env.store.insert_doc(Doc("channel", OWNER, "us-east-1", "channel-1", CHANNEL_ARN, {"Tags": []}))
        yield env


def listed(env: Env, arn: str, account: str = OWNER, region: str = "us-east-1") -> list[dict[str, Any]]:
    result = tags.list_tags(env.call(account, region), {"ResourceIdList": [arn]})
    assert [r["ResourceId"] for r in result["ResourceTagList"]] == [arn]
    found: list[dict[str, Any]] = result["ResourceTagList"][0]["TagsList"]
    return found


@pytest.mark.parametrize("arn", [TRAIL_ARN, CHANNEL_ARN])
def test_add_remove_and_list(env: Env, arn: str) -> None:
    call = env.call(OWNER)
    assert (
        tags.add_tags(call, {"ResourceId": arn, "TagsList": entries(("team", "audit"), ("bare", None))}) == {}
    )
    assert tags.add_tags(call, {"ResourceId": arn, "TagsList": entries(("team", "security"))}) == {}
    assert listed(env, arn) == [{"Key": "team", "Value": "security"}, {"Key": "bare"}]
    assert (
        tags.remove_tags(call, {"ResourceId": arn, "TagsList": entries(("team", "anything"), ("gone", None))})
        == {}
    )
    assert listed(env, arn) == [{"Key": "bare"}]
    assert call.resources[0]["ARN"] == arn


def test_tags_leave_the_rest_of_the_trail_alone(env: Env) -> None:
    tags.add_tags(env.call(OWNER), {"ResourceId": TRAIL_ARN, "TagsList": entries(("k", "v"))})
    doc = env.store.get_doc("trail", OWNER, TRAIL_ARN)
    assert doc is not None
    assert msgspec.convert(doc.body, Trail).s3_bucket_name == "trail-bucket"
    assert doc.body["Tags"] == [{"Key": "k", "Value": "v"}]


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:cloudtrail:us-east-1:{OTHER}:trail/tagged",  # another account's: as if it did not exist
        f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/missing",
        f"arn:aws:cloudtrail:us-east-1:{OWNER}:eventdatastore/eds-1",  # none exist yet
        f"arn:aws:cloudtrail:us-east-1:{OWNER}:dashboard/d-1",
        f"arn:aws:cloudtrail:eu-west-1:{OWNER}:channel/c-1",  # channels are regional
    ],
)
def test_what_cannot_be_found_is_resource_not_found(env: Env, arn: str) -> None:
    with pytest.raises(errors.ResourceNotFound, match=f"Resource .* not found for the user: {OWNER}"):
        tags.list_tags(env.call(OWNER), {"ResourceIdList": [arn]})


@pytest.mark.parametrize(
    ("arn", "error"),
    [
        ("tagged", errors.CloudTrailARNInvalid),
        (f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/a--b", errors.CloudTrailARNInvalid),
        (f"arn:aws:cloudtrail:us-east-1:{OWNER}:channel/a b", errors.ChannelARNInvalid),
        (f"arn:aws:cloudtrail:us-east-1:{OWNER}:eventdatastore/a/b", errors.EventDataStoreARNInvalid),
        (f"arn:aws:cloudtrail:us-east-1:{OWNER}:query/q-1", errors.ResourceTypeNotSupported),
    ],
)
def test_malformed_resource_ids(env: Env, arn: str, error: type[errors.ApiError]) -> None:
    with pytest.raises(error):
        tags.add_tags(env.call(OWNER), {"ResourceId": arn, "TagsList": entries(("k", "v"))})


def test_a_trail_is_listed_from_any_region_and_tagged_from_home(env: Env) -> None:
    assert listed(env, TRAIL_ARN, region="eu-west-1") == []
    with pytest.raises(errors.InvalidHomeRegion, match="only be tagged from its home region us-east-1"):
        tags.add_tags(
            env.call(OWNER, "eu-west-1"), {"ResourceId": TRAIL_ARN, "TagsList": entries(("k", "v"))}
        )


def test_members_list_but_never_change_an_organization_trails_tags(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER)
    shared = put_trail(env.store, OWNER, "org-trail", is_organization_trail=True, tags=[Tag("k", "v")])
    arn = shared.trail_arn
    assert listed(env, arn, account=MEMBER) == [{"Key": "k", "Value": "v"}]
    with pytest.raises(errors.NotOrganizationMasterAccount, match=f"member account {MEMBER} cannot change"):
        tags.remove_tags(env.call(MEMBER), {"ResourceId": arn, "TagsList": entries(("k", None))})
    # Its other trails stay hidden from members.
    with pytest.raises(errors.ResourceNotFound):
        listed(env, TRAIL_ARN, account=MEMBER)


def test_every_resource_ids_form_is_checked_before_any_is_looked_up(env: Env) -> None:
    missing = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/missing"
    with pytest.raises(errors.CloudTrailARNInvalid):
        tags.list_tags(env.call(OWNER), {"ResourceIdList": [missing, "tagged"]})


def test_list_tags_limits(env: Env) -> None:
    call = env.call(OWNER)
    twice = tags.list_tags(call, {"ResourceIdList": [TRAIL_ARN, TRAIL_ARN, CHANNEL_ARN]})
    assert [r["ResourceId"] for r in twice["ResourceTagList"]] == [TRAIL_ARN, CHANNEL_ARN]
    with pytest.raises(errors.InvalidParameter, match="at most 20 resources, got 21"):
        tags.list_tags(call, {"ResourceIdList": [TRAIL_ARN] * 21})
    with pytest.raises(errors.InvalidToken, match="NextToken is reserved"):
        tags.list_tags(call, {"ResourceIdList": [TRAIL_ARN], "NextToken": "t"})
    with pytest.raises(errors.SerializationException, match=r"ResourceIdList\[0\] must be a string"):
        tags.list_tags(call, {"ResourceIdList": [7]})


def test_required_members(env: Env) -> None:
    call = env.call(OWNER)
    with pytest.raises(errors.InvalidParameter, match="ResourceId is required"):
        tags.add_tags(call, {"TagsList": []})
    with pytest.raises(errors.InvalidTagParameter, match="TagsList is required"):
        tags.add_tags(call, {"ResourceId": TRAIL_ARN})
