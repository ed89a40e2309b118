"""The trail model (``trails/model.py``): a trail survives its store document unchanged, and its two wire
shapes carry CloudTrail's member names in the model's order -- CreateTrail/UpdateTrail's response without
HomeRegion or the Has* flags, the Trail object of DescribeTrails/GetTrail with them -- leaving out the
optional members that are not configured (reference §2.2, §2.3)."""

from __future__ import annotations

import botocore.session
import msgspec
from hypothesis import given
from hypothesis import strategies as st

from opentrail.selectors.parsing import (
    AdvancedEventSelector,
    EventSelection,
    FieldSelector,
    InsightSelector,
)
from opentrail.trails.model import KIND, Tag, Trail, decode, response, to_doc, trail_object

ACCOUNT = "111122223333"
ARN = f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/full"
MODEL = botocore.session.get_session().get_service_model("cloudtrail")


def bare() -> Trail:
    return Trail(
        name="bare",
        trail_arn=f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/bare",
        home_region="us-east-1",
        s3_bucket_name="bucket-1",
    )


def full() -> Trail:
    """Every member configured."""
    selection = EventSelection(
        advanced=[
            AdvancedEventSelector(
                name="Management events selector",
                field_selectors=[FieldSelector(field="eventCategory", equals=["Management"])],
            )
        ]
    )
    return Trail(
        name="full",
        trail_arn=ARN,
        home_region="eu-west-1",
        s3_bucket_name="bucket-1",
        s3_key_prefix="logs/here",
        sns_topic_name="topic-1",
        sns_topic_arn=f"arn:aws:sns:eu-west-1:{ACCOUNT}:topic-1",
        include_global_service_events=False,
        is_multi_region_trail=False,
        log_file_validation_enabled=True,
        cloud_watch_logs_log_group_arn=f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:g:*",
        cloud_watch_logs_role_arn=f"arn:aws:iam::{ACCOUNT}:role/r",
        kms_key_id=f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/k",
        is_organization_trail=True,
        organization_id="o-abcdefghij",
        recursive_logging=True,
        event_selection=selection,
        has_custom_event_selectors=True,
        insight_selectors=[InsightSelector(insight_type="ApiCallRateInsight")],
        is_logging=True,
        start_logging_time=1_704_067_200.123,
        stop_logging_time=1_704_000_000.0,
        tags=[Tag("team", "audit"), Tag("no-value")],
        creation_time=1_703_000_000.0,
    )


def test_a_trail_survives_its_document() -> None:
    for trail in (bare(), full()):
        doc = to_doc(trail, ACCOUNT)
        assert (doc.kind, doc.account, doc.region, doc.name, doc.arn) == (
            KIND,
            ACCOUNT,
            trail.home_region,
            trail.name,
            trail.trail_arn,
        )
        assert decode(doc) == trail
        # The body is plain JSON, as every backend stores it.
        assert decode(msgspec.json.decode(msgspec.json.encode(doc), type=type(doc))) == trail


optional_text = st.none() | st.text(min_size=1, max_size=20)


@given(
    prefix=optional_text,
    topic=optional_text,
    key=optional_text,
    flags=st.lists(st.booleans(), min_size=5, max_size=5),
    started=st.none() | st.floats(min_value=0, max_value=2e9),
    tags=st.lists(st.tuples(st.text(min_size=1, max_size=5), optional_text), max_size=3),
)
def test_any_configuration_survives_its_document(
    prefix: str | None,
    topic: str | None,
    key: str | None,
    flags: list[bool],
    started: float | None,
    tags: list[tuple[str, str | None]],
) -> None:
    trail = msgspec.structs.replace(
        bare(),
        s3_key_prefix=prefix,
        sns_topic_name=topic,
        kms_key_id=key,
        include_global_service_events=flags[0],
        is_multi_region_trail=flags[1],
        log_file_validation_enabled=flags[2],
        is_organization_trail=flags[3],
        is_logging=flags[4],
        start_logging_time=started,
        tags=[Tag(k, v) for k, v in tags],
    )
    assert decode(to_doc(trail, ACCOUNT)) == trail


def test_the_trail_object_has_every_member_in_the_models_order() -> None:
    shown = trail_object(full())
    assert list(shown) == list(MODEL.shape_for("Trail").members)
    assert shown["HomeRegion"] == "eu-west-1"
    assert shown["TrailARN"] == ARN
    assert (shown["HasCustomEventSelectors"], shown["HasInsightSelectors"]) == (True, True)
    assert shown["IncludeGlobalServiceEvents"] is False  # a false flag is shown, not left out


def test_the_response_leaves_out_home_region_and_the_has_flags() -> None:
    shown = response(full())
    assert list(shown) == list(MODEL.operation_model("CreateTrail").output_shape.members)
    assert list(MODEL.operation_model("UpdateTrail").output_shape.members) == list(shown)
    for member in ("HomeRegion", "HasCustomEventSelectors", "HasInsightSelectors"):
        assert member not in shown


def test_members_not_configured_are_left_out() -> None:
    shown = trail_object(bare())
    assert shown == {
        "Name": "bare",
        "S3BucketName": "bucket-1",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": False,
        "HomeRegion": "us-east-1",
        "TrailARN": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/bare",
        "LogFileValidationEnabled": False,
        "HasCustomEventSelectors": False,
        "HasInsightSelectors": False,
        "IsOrganizationTrail": False,
    }
    assert response(bare()) == {
        k: v
        for k, v in shown.items()
        if k not in ("HomeRegion", "HasCustomEventSelectors", "HasInsightSelectors")
    }


def test_state_that_is_not_configuration_stays_off_the_wire() -> None:
    shown = trail_object(full())
    for internal in (
        "OrganizationId",
        "IsLogging",
        "Tags",
        "EventSelection",
        "InsightSelectors",
        "CreationTime",
    ):
        assert internal not in shown
    assert set(shown) <= set(MODEL.shape_for("Trail").members)


def test_visible_in_its_home_region_or_everywhere_when_multi_region() -> None:
    trail = bare()
    assert trail.visible_in("us-east-1")
    assert not trail.visible_in("eu-west-1")
    everywhere = msgspec.structs.replace(trail, is_multi_region_trail=True)
    assert everywhere.visible_in("eu-west-1")
    assert everywhere.visible_in("us-east-1")


def test_a_tag_without_a_value_has_no_value_member() -> None:
    assert msgspec.to_builtins(Tag("k")) == {"Key": "k"}
    assert msgspec.to_builtins(Tag("k", "v")) == {"Key": "k", "Value": "v"}
