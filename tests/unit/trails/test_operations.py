"""Trail operations (``trails/operations.py``) in process, on a real store and bucket store: the room a
region has (five trails, counting multi-region trails homed elsewhere; names distinct wherever two
trails meet), how CreateTrail and UpdateTrail configure a trail (reference §2.3, §2.4), and what each
operation answers and announces to the trail listeners (§2.5-§2.10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from opentrail import errors
from opentrail.clock import FixedClock
from opentrail.delivery import topics
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
    with pytest.raises(errors.MaximumNumberOfTrailsExceeded, match="already has 5 trails in us-east-1"):
        ops.check_room(five, trail("sixth"), OWNER)
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
    with pytest.raises(
        errors.TrailAlreadyExists, match=f"same already exists in region eu-west-1 for customer: {OWNER}"
    ):
        ops.check_room([trail("same", "eu-west-1", is_multi_region_trail=True)], trail("same"), OWNER)
    with pytest.raises(errors.TrailAlreadyExists):
        ops.check_room([trail("same", "eu-west-1")], trail("same", is_multi_region_trail=True), OWNER)


def test_a_trail_does_not_crowd_itself() -> None:
    """UpdateTrail checks the trail against the account's others, not against its old self."""
    five = [trail(f"trail-{i}") for i in range(5)]
    ops.check_room(five, msgspec.structs.replace(five[0], is_multi_region_trail=True), OWNER)


# -- configuration -------------------------------------------------------------------------------------------


def configure(env: Env, p: dict[str, Any], base: Trail | None = None, account: str = OWNER) -> Trail:
    return ops.configure(env.call(account), base or trail("conf"), p)


def test_absent_members_keep_their_values_and_an_empty_string_clears(env: Env) -> None:
    topics.create(env.store, OWNER, "us-east-1", "topic-1", "http://127.0.0.1:9/", START, "sub-1")
    configured = configure(
        env,
        {
            "S3KeyPrefix": "logs",
            "SnsTopicName": "topic-1",
            "KmsKeyId": "alias/mine",
            "EnableLogFileValidation": True,
            "IncludeGlobalServiceEvents": False,
        },
    )
    assert configured.s3_key_prefix == "logs"
    assert configured.sns_topic_name == "topic-1"
    assert configured.sns_topic_arn == f"arn:aws:sns:us-east-1:{OWNER}:topic-1"
    assert configured.kms_key_id == f"arn:aws:kms:us-east-1:{OWNER}:alias/mine"
    assert (configured.log_file_validation_enabled, configured.include_global_service_events) == (True, False)
    assert configure(env, {}, configured) == configured
    cleared = configure(env, {"S3KeyPrefix": "", "SnsTopicName": "", "KmsKeyId": ""}, configured)
    assert (cleared.s3_key_prefix, cleared.sns_topic_name, cleared.sns_topic_arn, cleared.kms_key_id) == (
        None,
        None,
        None,
        None,
    )


def test_the_bucket_must_exist_be_valid_and_not_be_another_accounts(env: Env) -> None:
    with pytest.raises(errors.S3BucketDoesNotExist, match="S3 bucket missing-bucket does not exist"):
        configure(env, {"S3BucketName": "missing-bucket"})
    with pytest.raises(errors.InvalidS3BucketName):
        configure(env, {"S3BucketName": "Not_A_Bucket"})
    with pytest.raises(errors.InsufficientS3BucketPolicy, match="belongs to another account"):
        configure(env, {"S3BucketName": BUCKET}, account=OTHER)


def test_cloud_watch_logs_needs_both_arns_or_neither(env: Env) -> None:
    group = f"arn:aws:logs:us-east-1:{OWNER}:log-group:trail-logs:*"
    role = f"arn:aws:iam::{OWNER}:role/trail-role"
    with pytest.raises(errors.InvalidParameterCombination, match="must be given together"):
        configure(env, {"CloudWatchLogsLogGroupArn": group})
    with pytest.raises(errors.InvalidParameterCombination):
        configure(env, {"CloudWatchLogsRoleArn": role})
    both = configure(env, {"CloudWatchLogsLogGroupArn": group, "CloudWatchLogsRoleArn": role})
    assert (both.cloud_watch_logs_log_group_arn, both.cloud_watch_logs_role_arn) == (group, role)
    off = configure(env, {"CloudWatchLogsLogGroupArn": "", "CloudWatchLogsRoleArn": ""}, both)
    assert (off.cloud_watch_logs_log_group_arn, off.cloud_watch_logs_role_arn) == (None, None)
    with pytest.raises(errors.InvalidCloudWatchLogsRoleArn):
        configure(env, {"CloudWatchLogsLogGroupArn": group, "CloudWatchLogsRoleArn": "role"})


def test_a_multi_region_trail_includes_global_service_events(env: Env) -> None:
    with pytest.raises(errors.InvalidParameterCombination, match="must include global service events"):
        configure(env, {"IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": False})
    with pytest.raises(errors.InvalidParameterCombination):
        configure(env, {"IsMultiRegionTrail": True}, trail("conf", include_global_service_events=False))
    assert configure(env, {"IsMultiRegionTrail": True}).is_multi_region_trail


def test_flags_must_be_booleans(env: Env) -> None:
    with pytest.raises(errors.SerializationException, match="IsMultiRegionTrail must be a boolean"):
        configure(env, {"IsMultiRegionTrail": "true"})


def test_an_organization_trail_needs_the_management_account_of_an_all_features_organization(env: Env) -> None:
    with pytest.raises(errors.OrganizationsNotInUse, match=f"Account {OWNER} is not part of an organization"):
        configure(env, {"IsOrganizationTrail": True})
    put_organization(env.store, OWNER, MEMBER)
    made = configure(env, {"IsOrganizationTrail": True})
    assert (made.is_organization_trail, made.organization_id) == (True, "o-abcdefghij")
    assert configure(env, {"IsOrganizationTrail": False}, made).organization_id is None
    env.store.add_bucket("member-bucket", MEMBER)
    with pytest.raises(errors.NotOrganizationMasterAccount, match="is not the management account"):
        configure(env, {"IsOrganizationTrail": True}, account=MEMBER)


def test_an_organization_trail_needs_all_features(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER, feature_set="CONSOLIDATED_BILLING")
    with pytest.raises(errors.OrganizationNotInAllFeaturesMode, match="feature set CONSOLIDATED_BILLING"):
        configure(env, {"IsOrganizationTrail": True})


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
    with pytest.raises(errors.TrailAlreadyExists, match=f"Trail twice already exists for customer: {OWNER}"):
        create(env, "twice")


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


def test_start_and_stop_logging_are_idempotent_and_announced_once(env: Env, clock: FixedClock) -> None:
    create(env, "logging")
    got = heard(env)
    call = env.call(OWNER)
    ops.start_logging(call, {"Name": "logging"})
    clock.advance(10)
    ops.start_logging(call, {"Name": "logging"})
    status = ops.get_trail_status(call, {"Name": "logging"})
    # Logging continues since the first start, whose time carries milliseconds.
    assert status == {
        "IsLogging": True,
        "StartLoggingTime": round(START + 0.12345, 3),
        "TimeLoggingStarted": "2024-01-01T00:00:00Z",
    }
    ops.stop_logging(call, {"Name": "logging"})
    ops.stop_logging(call, {"Name": "logging"})
    stopped = ops.get_trail_status(call, {"Name": "logging"})
    assert (stopped["IsLogging"], stopped["TimeLoggingStopped"]) == (False, "2024-01-01T00:00:10Z")
    assert [event[0] for event in got] == ["changed", "started", "changed", "changed", "stopped", "changed"]


def test_trail_status_merges_what_its_sources_report(env: Env) -> None:
    arn = create(env, "status")["TrailARN"]
    asked: list[tuple[str, str]] = []

    def source(account: str, trail_arn: str) -> dict[str, Any]:
        asked.append((account, trail_arn))
        return {"LatestDeliveryTime": 5.0}

    env.services.listeners.status_sources.append(source)
    assert ops.get_trail_status(env.call(OWNER), {"Name": "status"}) == {
        "IsLogging": False,
        "LatestDeliveryTime": 5.0,
    }
    assert asked == [(OWNER, arn)]


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
