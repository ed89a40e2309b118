"""Trail operations (``trails/operations.py``) in process, on a real store and bucket store: the room a
region has (five trails, counting multi-region trails homed elsewhere; names distinct wherever two
trails meet), what each operation answers and announces to the trail listeners (§2.3-§2.10), and the order
CreateTrail and UpdateTrail check things in (their members' own rules are ``test_configuration``'s)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import msgspec
import pytest

from opentrail import errors
from opentrail.clock import FixedClock
from opentrail.trails import operations as ops
from opentrail.trails.model import KIND, Trail, decode, response
from tests.support.calls import Env
from tests.support.documents import put_organization
from tests.support.services import START, open_env

OWNER, MEMBER, OTHER = "111111111111", "222222222222", "333333333333"
BUCKET = "trail-bucket"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START + 0.12345)


@pytest.fixture
def env(tmp_path: Path, clock: FixedClock) -> Iterator[Env]:
    for env in open_env(tmp_path, clock):
        env.services.storage.create_bucket(BUCKET)
        env.store.add_bucket(BUCKET, OWNER)
        yield env


def trail(name: str, region: str = "us-east-1", **changes: Any) -> Trail:
    arn = f"arn:aws:cloudtrail:{region}:{OWNER}:trail/{name}"
    return Trail(name=name, trail_arn=arn, home_region=region, s3_bucket_name=BUCKET, **changes)


def create(env: Env, name: str, region: str = "us-east-1", account: str = OWNER, **p: Any) -> dict[str, Any]:
    return ops.create_trail(env.call(account, region), {"Name": name, "S3BucketName": BUCKET, **p})


def heard(env: Env) -> list[tuple[Any, ...]]:
    """Every announcement the trail listeners get, in order."""
    got: list[tuple[Any, ...]] = []
    listeners = env.services.listeners
    listeners.changed.append(lambda account, organization: got.append(("changed", account, organization)))
    listeners.started.append(lambda account, t: got.append(("started", account, t.name)))
    listeners.stopped.append(lambda account, t, deleted: got.append(("stopped", account, t.name, deleted)))
    listeners.covered.append(lambda t: got.append(("covered", t.name)))
    return got


# -- room ----------------------------------------------------------------------------------------------------


def test_five_trails_a_region() -> None:
    five = [trail(f"trail-{i}") for i in range(5)]
    ops.check_room(five[:4], trail("trail-4"), OWNER)
    with pytest.raises(errors.MaximumNumberOfTrailsExceeded) as caught:
        ops.check_room(five, trail("sixth"), OWNER)
    # AWS's text (linz/geostore#1450).
    assert caught.value.message == f"User: {OWNER} already has 5 trails in us-east-1."
    ops.check_room(five, trail("sixth", "eu-west-1"), OWNER)  # another region has its own five


def test_multi_region_trails_count_in_every_region() -> None:
    here = [trail(f"trail-{i}") for i in range(4)] + [
        trail("global", "eu-west-1", is_multi_region_trail=True)
    ]
    with pytest.raises(errors.MaximumNumberOfTrailsExceeded, match="in us-east-1"):
        ops.check_room(here, trail("fifth"), OWNER)
    # A new multi-region trail must fit in every region that has trails.
    full_west = [trail(f"west-{i}", "eu-west-1") for i in range(5)]
    ops.check_room(full_west, trail("east"), OWNER)
    with pytest.raises(errors.MaximumNumberOfTrailsExceeded, match="in eu-west-1"):
        ops.check_room(full_west, trail("east", is_multi_region_trail=True), OWNER)


def test_names_are_distinct_wherever_two_trails_meet() -> None:
    """One region's trails differ by ARN already (the store refuses a second); a multi-region trail
    meets every region's trails, so its name must be unique among them too."""
    ops.check_room([trail("same", "eu-west-1")], trail("same"), OWNER)
    with pytest.raises(errors.TrailAlreadyExists) as caught:
        ops.check_room([trail("same", "eu-west-1", is_multi_region_trail=True)], trail("same"), OWNER)
    # AWS's text names neither region.
    assert caught.value.message == f"Trail same already exists for customer: {OWNER}"
    with pytest.raises(errors.TrailAlreadyExists):
        ops.check_room([trail("same", "eu-west-1")], trail("same", is_multi_region_trail=True), OWNER)


def test_a_trail_does_not_crowd_itself() -> None:
    """UpdateTrail checks the trail against the account's others, not against its old self."""
    five = [trail(f"trail-{i}") for i in range(5)]
    ops.check_room(five, msgspec.structs.replace(five[0], is_multi_region_trail=True), OWNER)


# -- operations ----------------------------------------------------------------------------------------------


def test_create_trail_stores_answers_and_announces(env: Env) -> None:
    got = heard(env)
    call = env.call(OWNER)
    answer = ops.create_trail(call, {"Name": "made", "S3BucketName": BUCKET, "TagsList": [{"Key": "k"}]})
    doc = env.store.get_doc(KIND, OWNER, f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/made")
    assert doc is not None
    stored = decode(doc)
    assert answer == response(stored)
    assert (stored.is_logging, stored.creation_time, stored.tags[0].key) == (False, START + 0.12345, "k")
    assert got == [("changed", OWNER, False)]
    assert [r["ARN"] for r in call.resources] == [stored.trail_arn]


@pytest.mark.parametrize(
    ("p", "error"),
    [
        (
            {"Name": f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/made", "S3BucketName": BUCKET},
            "InvalidTrailName",
        ),
        ({"Name": "my--trail", "S3BucketName": BUCKET}, "InvalidTrailName"),
        ({"S3BucketName": BUCKET}, "InvalidTrailName"),
        ({"Name": "made"}, "InvalidS3BucketName"),
    ],
)
def test_create_trail_refuses(env: Env, p: dict[str, Any], error: str) -> None:
    with pytest.raises(errors.ApiError) as caught:
        ops.create_trail(env.call(OWNER), p)
    assert caught.value.code == f"{error}Exception"


def test_create_trail_twice_is_trail_already_exists(env: Env) -> None:
    create(env, "twice")
    with pytest.raises(errors.TrailAlreadyExists) as caught:
        create(env, "twice")
    # AWS's text (trussworks/terraform-aws-cloudtrail#238).
    assert caught.value.message == f"Trail twice already exists for customer: {OWNER}"


@pytest.mark.parametrize(
    ("malformed", "error"),
    [
        ({"KmsKeyId": "not-a-key"}, "InvalidKmsKeyIdException"),
        ({"S3KeyPrefix": "p" * 201}, "InvalidS3PrefixException"),
        (
            {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False},
            "InvalidParameterCombinationException",
        ),
        (
            {
                "CloudWatchLogsLogGroupArn": "log-group",
                "CloudWatchLogsRoleArn": f"arn:aws:iam::{OWNER}:role/r",
            },
            "InvalidCloudWatchLogsLogGroupArnException",
        ),
        ({"TagsList": [{"Key": "aws:reserved"}]}, "InvalidTagParameterException"),
    ],
)
def test_create_trail_answers_a_malformed_member_before_looking_anything_up(
    env: Env, malformed: dict[str, Any], error: str
) -> None:
    """Malformed and naming a missing bucket, a missing topic, an organization that does not exist, and
    a trail that exists already: the member's form is what is answered (issue 13)."""
    create(env, "taken")
    p = {
        "Name": "taken",
        "S3BucketName": "missing-bucket",
        "SnsTopicName": "missing-topic",
        "IsOrganizationTrail": True,
        **malformed,
    }
    with pytest.raises(errors.ApiError) as caught:
        ops.create_trail(env.call(OWNER), p)
    assert caught.value.code == error


def test_update_trail_answers_a_malformed_member_before_looking_for_the_trail(env: Env) -> None:
    for name in ("missing", f"arn:aws:cloudtrail:eu-west-1:{OWNER}:trail/elsewhere"):
        with pytest.raises(errors.InvalidKmsKeyId):
            ops.update_trail(env.call(OWNER), {"Name": name, "KmsKeyId": "not-a-key"})
    with pytest.raises(errors.InvalidTrailName):
        ops.update_trail(env.call(OWNER), {"Name": "my--trail", "KmsKeyId": "not-a-key"})
    with pytest.raises(errors.TrailNotFound):
        ops.update_trail(env.call(OWNER), {"Name": "missing", "S3BucketName": "missing-bucket"})


def test_update_trail_checks_the_combination_on_the_trail_before_the_bucket(env: Env) -> None:
    create(env, "local", IncludeGlobalServiceEvents=False)
    with pytest.raises(errors.InvalidParameterCombination):
        ops.update_trail(
            env.call(OWNER), {"Name": "local", "IsMultiRegionTrail": True, "S3BucketName": "missing-bucket"}
        )


def test_update_trail_changes_configuration_and_announces_coverage(env: Env) -> None:
    create(env, "updated")
    put_organization(env.store, OWNER, MEMBER)
    got = heard(env)
    answer = ops.update_trail(env.call(OWNER), {"Name": "updated", "IsOrganizationTrail": True})
    assert answer["IsOrganizationTrail"] is True
    assert got == [("changed", OWNER, True), ("covered", "updated")]
    with pytest.raises(errors.InvalidHomeRegion):
        ops.update_trail(env.call(OWNER, "eu-west-1"), {"Name": answer["TrailARN"], "S3KeyPrefix": "x"})


def test_delete_trail_announces_the_stop_while_the_trail_still_exists(env: Env) -> None:
    arn = create(env, "deleted")["TrailARN"]
    present: list[bool] = []
    env.services.listeners.stopped.append(
        lambda account, _t, _deleted: present.append(env.store.get_doc(KIND, account, arn) is not None)
    )
    got = heard(env)
    assert ops.delete_trail(env.call(OWNER), {"Name": "deleted"}) == {}
    assert present == [True]
    assert got == [("stopped", OWNER, "deleted", True), ("changed", OWNER, False)]
    assert env.store.get_doc(KIND, OWNER, arn) is None


def names(result: dict[str, Any]) -> list[str]:
    return [t["Name"] for t in result["trailList"]]


def test_describe_trails_shows_shadow_trails_by_default(env: Env) -> None:
    create(env, "east-only")
    everywhere = create(env, "everywhere", IsMultiRegionTrail=True)["TrailARN"]
    west = create(env, "west-only", "eu-west-1")["TrailARN"]
    there = env.call(OWNER, "eu-west-1")
    assert names(ops.describe_trails(there, {})) == ["west-only", "everywhere"]
    assert names(ops.describe_trails(there, {"includeShadowTrails": False})) == ["west-only"]
    # Names match this region's trails only; another region's trail needs its ARN.
    assert names(ops.describe_trails(there, {"trailNameList": ["east-only", "missing", west]})) == [
        "west-only"
    ]
    assert names(ops.describe_trails(there, {"trailNameList": [everywhere, everywhere]})) == ["everywhere"]
    shadow_hidden = ops.describe_trails(there, {"trailNameList": [everywhere], "includeShadowTrails": False})
    assert names(shadow_hidden) == []
    with pytest.raises(errors.SerializationException, match=r"trailNameList\[0\] must be a string"):
        ops.describe_trails(there, {"trailNameList": [1]})


def test_list_trails_pages_every_region_by_region_then_name(env: Env) -> None:
    for region in ("us-east-1", "eu-west-1", "ap-south-1", "sa-east-1", "us-west-2"):
        for i in range(5):
            create(env, f"trail-{i}", region)
    call = env.call(OWNER)
    first = ops.list_trails(call, {})
    assert len(first["Trails"]) == ops.PAGE_SIZE
    second = ops.list_trails(call, {"NextToken": first["NextToken"]})
    assert "NextToken" not in second
    listed = [(t["HomeRegion"], t["Name"]) for t in first["Trails"] + second["Trails"]]
    assert listed == sorted(listed)
    assert len(set(listed)) == 25
    with pytest.raises(errors.InvalidNextToken):
        ops.list_trails(env.call(OTHER), {"NextToken": first["NextToken"]})  # another account's token
    with pytest.raises(errors.InvalidNextToken):
        ops.list_trails(call, {"NextToken": first["NextToken"] + "x"})


EMPTY_STRINGS = dict.fromkeys(ops.STATUS_STRINGS, "")


def test_start_and_stop_logging_are_idempotent_and_announced_once(env: Env, clock: FixedClock) -> None:
    create(env, "logging")
    got = heard(env)
    call = env.call(OWNER)
    ops.start_logging(call, {"Name": "logging"})
    clock.advance(10)
    ops.start_logging(call, {"Name": "logging"})
    status = ops.get_trail_status(call, {"Name": "logging"})
    # Logging continues since the first start, whose time carries milliseconds; its string twin is the
    # whole second, as AWS writes it.
    assert status == {
        "IsLogging": True,
        "StartLoggingTime": round(START + 0.12345, 3),
        **EMPTY_STRINGS,
        "TimeLoggingStarted": "2024-01-01T00:00:00Z",
    }
    ops.stop_logging(call, {"Name": "logging"})
    ops.stop_logging(call, {"Name": "logging"})
    stopped = ops.get_trail_status(call, {"Name": "logging"})
    assert (stopped["IsLogging"], stopped["TimeLoggingStopped"]) == (False, "2024-01-01T00:00:10Z")
    assert stopped["StopLoggingTime"] == round(START + 10.12345, 3)
    assert [event[0] for event in got] == ["changed", "started", "changed", "changed", "stopped", "changed"]


def test_a_new_trails_status_has_every_string_member_empty(env: Env) -> None:
    """Before the first start and the first delivery, AWS sends IsLogging and the six deprecated string
    members as "" (the CloudTrail user guide's CLI output; moto's TrailStatus), and no timestamp."""
    create(env, "fresh")
    status = ops.get_trail_status(env.call(OWNER), {"Name": "fresh"})
    assert status == {"IsLogging": False, **EMPTY_STRINGS}
    assert list(status) == ["IsLogging", *ops.STATUS_STRINGS]


def test_status_members_are_botocores_in_its_order() -> None:
    model = botocore.session.get_session().get_service_model("cloudtrail")
    shape = model.operation_model("GetTrailStatus").output_shape
    assert shape is not None
    assert tuple(shape.members) == ops.STATUS_MEMBERS
    strings = tuple(name for name, member in shape.members.items() if member.type_name == "string")
    assert set(ops.STATUS_STRINGS) <= set(strings)
    assert all(
        shape.members[name].documentation == "<p>This field is no longer in use.</p>"
        for name in ops.STATUS_STRINGS
    )


def test_trail_status_merges_what_its_sources_report_in_the_models_order(env: Env) -> None:
    arn = create(env, "status")["TrailARN"]
    asked: list[tuple[str, str]] = []

    def source(account: str, trail_arn: str) -> dict[str, Any]:
        asked.append((account, trail_arn))
        return {
            "LatestDeliveryAttemptSucceeded": "2024-01-01T00:00:05Z",
            "LatestDeliveryAttemptTime": "2024-01-01T00:00:05Z",
            "LatestDeliveryTime": 5.0,
            "NotAMember": "dropped",
        }

    env.services.listeners.status_sources.append(source)
    status = ops.get_trail_status(env.call(OWNER), {"Name": "status"})
    assert status == {
        "IsLogging": False,
        "LatestDeliveryTime": 5.0,
        **EMPTY_STRINGS,
        "LatestDeliveryAttemptTime": "2024-01-01T00:00:05Z",
        "LatestDeliveryAttemptSucceeded": "2024-01-01T00:00:05Z",
    }
    assert list(status) == [m for m in ops.STATUS_MEMBERS if m in status]
    assert asked == [(OWNER, arn)]


def test_an_unknown_trails_status_names_the_arn_the_name_stands_for(env: Env) -> None:
    with pytest.raises(errors.TrailNotFound) as caught:
        ops.get_trail_status(env.call(OWNER, "eu-west-1"), {"Name": "missing"})
    # AWS's text for GetTrailStatus (elastic/cloudbeat#1750; moto's get_trail_status).
    arn = f"arn:aws:cloudtrail:eu-west-1:{OWNER}:trail/missing"
    assert caught.value.message == f"Unknown trail: {arn} for the user: {OWNER}"
    # GetTrail repeats the name as given (moto's test_get_trail_unknown).
    with pytest.raises(errors.TrailNotFound) as caught:
        ops.get_trail(env.call(OWNER, "eu-west-1"), {"Name": "missing"})
    assert caught.value.message == f"Unknown trail: missing for the user: {OWNER}"


def test_get_trail_reads_a_shadow_trail_by_arn(env: Env) -> None:
    arn = create(env, "shadowed", IsMultiRegionTrail=True)["TrailARN"]
    got = ops.get_trail(env.call(OWNER, "eu-west-1"), {"Name": arn})["Trail"]
    assert (got["Name"], got["HomeRegion"]) == ("shadowed", "us-east-1")


def test_the_table_names_every_trail_operation() -> None:
    assert set(ops.OPERATIONS) == {
        "CreateTrail",
        "UpdateTrail",
        "DeleteTrail",
        "DescribeTrails",
        "GetTrail",
        "ListTrails",
        "GetTrailStatus",
        "StartLogging",
        "StopLogging",
    }
