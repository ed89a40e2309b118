"""The selector operations (``selectors/operations.py``) in process, on a real store: PutEventSelectors
takes exactly one kind of selector and replaces the other, keeps the rest of the trail and tells the
trail listeners; selectors are read wherever a trail is visible and changed only from its home region;
PutInsightSelectors checks CloudTrail's preconditions against the stored selectors, the Insights calls
address a trail (event data store forms are refused until event data stores exist), and a trail without
Insights answers InsightNotEnabledException (reference §2.11, §2.12, §9.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from opentrail import errors
from opentrail.selectors import operations as ops
from opentrail.trails.model import KIND, Tag, Trail, decode
from tests.support.calls import Env
from tests.support.documents import put_organization, put_trail
from tests.support.services import open_env

OWNER, MEMBER = "111111111111", "222222222222"
ARN = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/audit"
EDS = f"arn:aws:cloudtrail:us-east-1:{OWNER}:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
MODEL = botocore.session.get_session().get_service_model("cloudtrail")
WRITES = [{"ReadWriteType": "WriteOnly"}]
MANAGEMENT = {"Field": "eventCategory", "Equals": ["Management"]}
CALL_RATE = [{"InsightType": "ApiCallRateInsight"}]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    for env in open_env(tmp_path):
        put_trail(env.store, OWNER, "audit", tags=[Tag("team", "audit")], is_logging=True)
        yield env


def stored(env: Env, arn: str = ARN, account: str = OWNER) -> Trail:
    doc = env.store.get_doc(KIND, account, arn)
    assert doc is not None
    return decode(doc)


def put(env: Env, region: str = "us-east-1", account: str = OWNER, **p: Any) -> dict[str, Any]:
    return ops.put_event_selectors(env.call(account, region), {"TrailName": "audit", **p})


def put_insights(env: Env, selectors: list[dict[str, Any]], **p: Any) -> dict[str, Any]:
    return ops.put_insight_selectors(
        env.call(OWNER), {"TrailName": "audit", "InsightSelectors": selectors, **p}
    )


# -- event selectors ---------------------------------------------------------------------------------------


def test_the_four_operations_by_their_wire_names() -> None:
    assert set(ops.OPERATIONS) == {
        "PutEventSelectors",
        "GetEventSelectors",
        "PutInsightSelectors",
        "GetInsightSelectors",
    }
    assert set(ops.OPERATIONS) <= set(MODEL.operation_names)


def test_put_stores_answers_and_get_reads_the_selectors(env: Env) -> None:
    answer = put(env, EventSelectors=WRITES)
    expected = [
        {
            "ReadWriteType": "WriteOnly",
            "IncludeManagementEvents": True,
            "DataResources": [],
            "ExcludeManagementEventSources": [],
        }
    ]
    assert answer == {"TrailARN": ARN, "EventSelectors": expected}
    assert set(answer) <= set(MODEL.operation_model("PutEventSelectors").output_shape.members)
    assert ops.get_event_selectors(env.call(OWNER), {"TrailName": ARN}) == answer
    trail = stored(env)
    assert trail.has_custom_event_selectors
    assert trail.event_selection.to_wire() == {"EventSelectors": expected}


def test_a_new_trail_answers_its_default_selector(env: Env) -> None:
    assert ops.get_event_selectors(env.call(OWNER), {"TrailName": "audit"}) == {
        "TrailARN": ARN,
        "EventSelectors": [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [],
                "ExcludeManagementEventSources": [],
            }
        ],
    }


def test_one_kind_replaces_the_other(env: Env) -> None:
    put(env, EventSelectors=WRITES)
    advanced = [
        {"Name": "writes", "FieldSelectors": [MANAGEMENT, {"Field": "readOnly", "Equals": ["false"]}]}
    ]
    assert put(env, AdvancedEventSelectors=advanced) == {"TrailARN": ARN, "AdvancedEventSelectors": advanced}
    assert stored(env).event_selection.basic is None
    put(env, EventSelectors=WRITES)
    assert stored(env).event_selection.advanced is None


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (
            {"EventSelectors": WRITES, "AdvancedEventSelectors": [{"FieldSelectors": [MANAGEMENT]}]},
            "not both",
        ),
        ({}, "not neither"),
    ],
)
def test_exactly_one_kind_of_selector(env: Env, given: dict[str, Any], says: str) -> None:
    with pytest.raises(errors.InvalidParameterCombination, match=says):
        put(env, **given)
    assert not stored(env).has_custom_event_selectors


def test_the_rest_of_the_trail_is_kept_and_the_listeners_hear_of_it(env: Env) -> None:
    heard: list[tuple[str, bool]] = []
    env.services.listeners.changed.append(lambda account, organization: heard.append((account, organization)))
    before = stored(env)
    put(env, EventSelectors=WRITES)
    after = stored(env)
    assert (after.tags, after.is_logging, after.s3_bucket_name) == (before.tags, True, before.s3_bucket_name)
    assert heard == [(OWNER, False)]  # ingest's coverage forgets what this trail selected


def test_an_invalid_selector_changes_nothing(env: Env) -> None:
    with pytest.raises(errors.InvalidEventSelectors):
        put(env, EventSelectors=[{"ReadWriteType": "read-only"}])
    assert not stored(env).has_custom_event_selectors


def test_an_unknown_trail(env: Env) -> None:
    with pytest.raises(errors.TrailNotFound) as caught:
        put(env, TrailName="absent", EventSelectors=WRITES)
    assert caught.value.message == f"Unknown trail: absent for the user: {OWNER}"
    with pytest.raises(errors.TrailNotFound) as caught:
        ops.get_event_selectors(env.call(OWNER), {"TrailName": "absent"})
    # AWS's GetEventSelectors names the ARN a name stands for (elastic/cloudbeat#1750).
    arn = f"arn:aws:cloudtrail:us-east-1:{OWNER}:trail/absent"
    assert caught.value.message == f"Unknown trail: {arn} for the user: {OWNER}"
    with pytest.raises(errors.InvalidTrailName):
        ops.get_event_selectors(env.call(OWNER), {})


def test_selectors_are_read_where_a_trail_is_visible_and_changed_only_at_home(env: Env) -> None:
    """A multi-region trail's shadow in another region answers GetEventSelectors by ARN; changing its
    selectors there is InvalidHomeRegionException, as for every change of a shadow trail."""
    arn = put_trail(env.store, OWNER, "everywhere", is_multi_region_trail=True).trail_arn
    there = ops.get_event_selectors(env.call(OWNER, "eu-west-1"), {"TrailName": arn})
    assert there["TrailARN"] == arn
    with pytest.raises(errors.InvalidHomeRegion, match="only be changed from its home region us-east-1"):
        put(env, "eu-west-1", TrailName=arn, EventSelectors=WRITES)


def test_an_organization_trail_is_read_by_its_members_and_changed_by_its_owner_only(env: Env) -> None:
    put_organization(env.store, OWNER, MEMBER)
    arn = put_trail(env.store, OWNER, "org", is_organization_trail=True).trail_arn
    assert ops.get_event_selectors(env.call(MEMBER), {"TrailName": arn})["TrailARN"] == arn
    with pytest.raises(errors.NotOrganizationMasterAccount):
        put(env, account=MEMBER, TrailName=arn, EventSelectors=WRITES)


# -- Insights selectors ------------------------------------------------------------------------------------


def test_insights_put_answered_and_read_back(env: Env) -> None:
    given = [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Management"]},
    ]
    answer = put_insights(env, given)
    assert answer == {"TrailARN": ARN, "InsightSelectors": given}  # categories shown only where given
    assert set(answer) <= set(MODEL.operation_model("PutInsightSelectors").output_shape.members)
    assert ops.get_insight_selectors(env.call(OWNER), {"TrailName": "audit"}) == answer
    assert [s.insight_type for s in stored(env).insight_selectors] == [
        "ApiCallRateInsight",
        "ApiErrorRateInsight",
    ]


def test_a_trail_without_insights_says_so_in_cloudtrails_words(env: Env) -> None:
    message = (
        "Trail audit does not have Insights enabled. Edit the trail settings to enable Insights, and then "
        "try the operation again."
    )
    with pytest.raises(errors.InsightNotEnabled) as info:
        ops.get_insight_selectors(env.call(OWNER), {"TrailName": "audit"})
    assert info.value.message == message
    put_insights(env, CALL_RATE)
    assert put_insights(env, []) == {"TrailARN": ARN, "InsightSelectors": []}  # an empty list turns them off
    with pytest.raises(errors.InsightNotEnabled):
        ops.get_insight_selectors(env.call(OWNER), {"TrailName": "audit"})


def test_insights_are_checked_against_the_stored_selectors(env: Env) -> None:
    put(env, EventSelectors=[{"ReadWriteType": "ReadOnly"}])
    with pytest.raises(errors.InvalidInsightSelectors, match="ApiCallRateInsight needs trail audit"):
        put_insights(env, CALL_RATE)
    assert stored(env).insight_selectors == []
    put_insights(env, [{"InsightType": "ApiErrorRateInsight"}])
    put(env, EventSelectors=WRITES)
    put_insights(env, CALL_RATE)


def test_insight_selectors_are_required(env: Env) -> None:
    with pytest.raises(errors.InvalidInsightSelectors):
        ops.put_insight_selectors(env.call(OWNER), {"TrailName": "audit"})


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ({"TrailName": "audit", "EventDataStore": EDS}, errors.InvalidParameterCombination),
        ({"TrailName": "audit", "InsightsDestination": EDS}, errors.InvalidParameterCombination),
        ({"EventDataStore": EDS}, errors.InvalidParameterCombination),  # a put names both
        ({"InsightsDestination": EDS}, errors.InvalidParameterCombination),
        ({}, errors.InvalidParameterCombination),
        ({"EventDataStore": EDS, "InsightsDestination": EDS}, errors.EventDataStoreNotFound),
        ({"EventDataStore": "ab", "InsightsDestination": EDS}, errors.InvalidParameter),  # 3-256 characters
        ({"EventDataStore": EDS, "InsightsDestination": "x" * 257}, errors.InvalidParameter),
    ],
)
def test_what_a_put_of_insights_addresses(env: Env, target: dict[str, Any], error: type[Exception]) -> None:
    p = {"InsightSelectors": CALL_RATE, **target}
    with pytest.raises(error):
        ops.put_insight_selectors(env.call(OWNER), p)


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ({"TrailName": "audit", "EventDataStore": EDS}, errors.InvalidParameterCombination),
        (
            {"EventDataStore": EDS, "InsightsDestination": EDS},
            errors.InvalidParameterCombination,
        ),  # a get names one
        ({}, errors.InvalidParameterCombination),
        ({"EventDataStore": EDS}, errors.EventDataStoreNotFound),
    ],
)
def test_what_a_get_of_insights_addresses(env: Env, target: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        ops.get_insight_selectors(env.call(OWNER), target)


def test_an_event_data_store_not_found_names_it(env: Env) -> None:
    with pytest.raises(errors.EventDataStoreNotFound) as caught:
        ops.get_insight_selectors(env.call(OWNER), {"EventDataStore": EDS})
    # moto's text (moto/cloudtrail/exceptions.py).
    assert caught.value.message == f"The event data store {EDS} was not found."


def test_selectors_are_checked_before_the_trail_is_looked_up(env: Env) -> None:
    """A malformed request naming a trail that does not exist (or one the caller may not change) is
    answered for its form, as CloudTrail checks parameters first (issue 13)."""
    for name in ("absent", f"arn:aws:cloudtrail:eu-west-1:{OWNER}:trail/elsewhere"):
        with pytest.raises(errors.InvalidEventSelectors):
            put(env, TrailName=name, EventSelectors=[{"ReadWriteType": "read-only"}])
        with pytest.raises(errors.InvalidInsightSelectors):
            put_insights(env, [{"InsightType": "Nope"}], TrailName=name)
    with pytest.raises(errors.InvalidTrailName):
        put(env, TrailName="my--trail", EventSelectors=WRITES)
    with pytest.raises(errors.InvalidInsightSelectors):
        put_insights(
            env, [{"InsightType": "Nope"}], TrailName=None, EventDataStore=EDS, InsightsDestination=EDS
        )


def test_insights_are_changed_only_at_home(env: Env) -> None:
    arn = put_trail(env.store, OWNER, "everywhere", is_multi_region_trail=True).trail_arn
    with pytest.raises(errors.InvalidHomeRegion):
        ops.put_insight_selectors(
            env.call(OWNER, "eu-west-1"), {"TrailName": arn, "InsightSelectors": CALL_RATE}
        )
    put_insights(env, CALL_RATE, TrailName=arn)
    assert ops.get_insight_selectors(env.call(OWNER, "eu-west-1"), {"TrailName": arn})["TrailARN"] == arn
