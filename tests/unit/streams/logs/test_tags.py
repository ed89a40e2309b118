"""Tags on log groups through both APIs (by ARN and the legacy by name): merged, removed, at most 50,
keys and values as the model allows, and another account's group never found."""

from __future__ import annotations

import pytest

from opentrail.errors import InvalidParameter, ResourceNotFound, TooManyTags
from tests.support.calls import Env
from tests.support.logs import ACCOUNT, OTHER, run

ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g"


@pytest.fixture
def group(env: Env) -> Env:
    run(env, "CreateLogGroup", logGroupName="g", tags={"team": "sec"})
    return env


def test_tag_untag_and_list_by_arn(group: Env) -> None:
    assert run(group, "ListTagsForResource", resourceArn=ARN) == {"tags": {"team": "sec"}}
    assert run(group, "TagResource", resourceArn=ARN, tags={"env": "prod", "team": "ops"}) == {}
    assert run(group, "ListTagsForResource", resourceArn=f"{ARN}:*") == {
        "tags": {"team": "ops", "env": "prod"}
    }
    assert run(group, "UntagResource", resourceArn=ARN, tagKeys=["team", "never-set"]) == {}
    assert run(group, "ListTagsForResource", resourceArn=ARN) == {"tags": {"env": "prod"}}


def test_the_legacy_operations_by_name(group: Env) -> None:
    run(group, "TagLogGroup", logGroupName="g", tags={"a": "1"})
    assert run(group, "ListTagsLogGroup", logGroupName="g") == {"tags": {"team": "sec", "a": "1"}}
    run(group, "UntagLogGroup", logGroupName="g", tags=["team"])
    assert run(group, "ListTagsLogGroup", logGroupName="g") == {"tags": {"a": "1"}}
    with pytest.raises(ResourceNotFound, match="log group does not exist"):
        run(group, "ListTagsLogGroup", logGroupName="missing")


def test_fifty_tags_at_most(group: Env) -> None:
    run(group, "TagResource", resourceArn=ARN, tags={f"k{i:02d}": "v" for i in range(49)})
    with pytest.raises(TooManyTags):
        run(group, "TagResource", resourceArn=ARN, tags={"one": "more", "and": "another"})
    run(group, "TagResource", resourceArn=ARN, tags={"k00": "replaced"})  # a known key adds none
    assert len(run(group, "ListTagsForResource", resourceArn=ARN)["tags"]) == 50


@pytest.mark.parametrize(
    "tags", [{"": "v"}, {"k" * 129: "v"}, {"k": "v" * 257}, {"bad*key": "v"}, {"aws:reserved": "v"}, {}]
)
def test_tags_outside_the_model_are_refused(group: Env, tags: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter):
        run(group, "TagResource", resourceArn=ARN, tags=tags)


def test_unicode_letters_spaces_and_punctuation_are_tags(group: Env) -> None:
    run(group, "TagResource", resourceArn=ARN, tags={"Ünïcode key": "a + b = c . _ : / @ -"})
    assert (
        run(group, "ListTagsForResource", resourceArn=ARN)["tags"]["Ünïcode key"] == "a + b = c . _ : / @ -"
    )


def test_another_accounts_or_regions_group_is_not_found(group: Env) -> None:
    with pytest.raises(ResourceNotFound):
        run(group, "ListTagsForResource", resourceArn=ARN, account=OTHER)
    with pytest.raises(ResourceNotFound):
        run(group, "TagResource", resourceArn=ARN, tags={"a": "b"}, region="eu-west-1")
    with pytest.raises(ResourceNotFound):
        run(group, "TagResource", resourceArn=ARN.replace(":g", ":missing"), tags={"a": "b"})
