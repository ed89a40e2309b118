"""The selector model (``selectors/model.py``): its builtin form is the wire form GetEventSelectors and
GetInsightSelectors answer, member for member in botocore's model and order (a basic selector with all
four members, an advanced one with only the operators given, Insights without the categories left out),
a selection converts back from its wire form unchanged, and the questions Insights asks of a selection
(does the trail log write management events? any? data events?) are answered by CloudTrail's
preconditions (reference §2.11, §2.12, §8, §9.1)."""

from __future__ import annotations

from typing import Any

import botocore.session
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opentrail.selectors.model import (
    DEFAULT_SELECTION,
    OPERATORS,
    READ_WRITE_TYPES,
    AdvancedEventSelector,
    DataResource,
    EventSelection,
    EventSelector,
    FieldSelector,
    InsightSelector,
)

MODEL = botocore.session.get_session().get_service_model("cloudtrail")
MANAGEMENT = FieldSelector(field="eventCategory", equals=["Management"])
DATA = FieldSelector(field="eventCategory", equals=["Data"])
S3_OBJECTS = FieldSelector(field="resources.type", equals=["AWS::S3::Object"])


def members(shape: str) -> list[str]:
    return list(MODEL.shape_for(shape).members)


def advanced(*fields: FieldSelector, name: str | None = None) -> AdvancedEventSelector:
    return AdvancedEventSelector(field_selectors=list(fields), name=name)


# -- the wire form ---------------------------------------------------------------------------------------


def test_the_enumerations_are_the_models() -> None:
    assert list(READ_WRITE_TYPES) == MODEL.shape_for("ReadWriteType").enum
    assert list(OPERATORS) == members("AdvancedFieldSelector")[1:]


def test_a_basic_selector_always_shows_its_four_members_in_the_models_order() -> None:
    """CloudTrail answers every member of a basic selector, defaults included (reference §2.11)."""
    assert EventSelector().to_wire() == {
        "ReadWriteType": "All",
        "IncludeManagementEvents": True,
        "DataResources": [],
        "ExcludeManagementEventSources": [],
    }
    given = EventSelector(
        read_write_type="ReadOnly",
        include_management_events=False,
        data_resources=[DataResource(type="AWS::S3::Object", values=["arn:aws:s3:::bucket/"])],
        exclude_management_event_sources=["kms.amazonaws.com"],
    )
    wire = given.to_wire()
    assert list(wire) == members("EventSelector")
    assert wire["DataResources"] == [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket/"]}]
    assert list(wire["DataResources"][0]) == members("DataResource")


def test_an_advanced_selector_shows_only_what_was_given() -> None:
    condition = FieldSelector(field="eventName", not_equals=["GetObject"], starts_with=["Put"])
    named = advanced(DATA, S3_OBJECTS, condition, name="S3 writes")
    assert named.to_wire() == {
        "Name": "S3 writes",
        "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "eventName", "StartsWith": ["Put"], "NotEquals": ["GetObject"]},
        ],
    }
    assert list(named.to_wire()) == members("AdvancedEventSelector")
    assert advanced(MANAGEMENT).to_wire() == {
        "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]
    }


def test_a_field_selectors_operators_come_in_the_models_order() -> None:
    every = FieldSelector(
        field="eventName",
        not_ends_with=["f"],
        not_starts_with=["e"],
        not_equals=["d"],
        ends_with=["c"],
        starts_with=["b"],
        equals=["a"],
    )
    assert list(every.operators()) == members("AdvancedFieldSelector")[1:]
    assert every.operators()["NotEndsWith"] == ["f"]
    assert FieldSelector(field="readOnly", equals=["true"]).operators() == {"Equals": ["true"]}


def test_a_selection_is_either_basic_or_advanced_on_the_wire() -> None:
    """GetEventSelectors answers the kind last put, never both (reference §2.11)."""
    basic = EventSelection(basic=[EventSelector(read_write_type="WriteOnly")])
    assert list(basic.to_wire()) == ["EventSelectors"]
    chosen = EventSelection(advanced=[advanced(MANAGEMENT)])
    assert chosen.to_wire() == {
        "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]
    }
    assert EventSelection().to_wire() == {"EventSelectors": []}
    assert set(basic.to_wire()) | set(chosen.to_wire()) <= set(
        MODEL.operation_model("GetEventSelectors").output_shape.members
    )


def test_a_new_trail_logs_every_management_event() -> None:
    # reference §2.11: the default selector in the form the older documentation pages show.
    assert DEFAULT_SELECTION.to_wire() == {
        "EventSelectors": [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [],
                "ExcludeManagementEventSources": [],
            }
        ]
    }


def test_insights_categories_default_to_management_and_are_not_echoed() -> None:
    """Omitting EventCategories means Management; GetInsightSelectors shows only what was put."""
    left_out = InsightSelector(insight_type="ApiCallRateInsight")
    assert left_out.categories == ["Management"]
    assert msgspec.to_builtins(left_out) == {"InsightType": "ApiCallRateInsight"}
    given = InsightSelector(insight_type="ApiErrorRateInsight", event_categories=["Data", "Management"])
    assert given.categories == ["Data", "Management"]
    assert list(msgspec.to_builtins(given)) == members("InsightSelector")


# -- round trip ------------------------------------------------------------------------------------------

values = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3)
field_selectors = st.builds(
    lambda name, ops: msgspec.convert({"Field": name, **ops}, FieldSelector),
    st.sampled_from(["eventName", "eventSource", "resources.ARN", "userIdentity.arn"]),
    st.dictionaries(st.sampled_from(OPERATORS), values, min_size=1),
)
advanced_selectors = st.builds(
    lambda fields, name: advanced(DATA, S3_OBJECTS, *fields, name=name),
    st.lists(field_selectors, max_size=3),
    st.none() | st.text(max_size=10),
)
basic_selectors = st.builds(
    EventSelector,
    read_write_type=st.sampled_from(READ_WRITE_TYPES),
    include_management_events=st.booleans(),
    data_resources=st.lists(
        st.builds(
            DataResource, type=st.sampled_from(["AWS::S3::Object", "AWS::Lambda::Function"]), values=values
        ),
        max_size=2,
    ),
    exclude_management_event_sources=st.lists(
        st.sampled_from(["kms.amazonaws.com", "rdsdata.amazonaws.com"]), unique=True
    ),
)


@given(selectors=st.lists(basic_selectors, min_size=1, max_size=5))
def test_basic_selectors_come_back_from_their_wire_form(selectors: list[EventSelector]) -> None:
    selection = EventSelection(basic=selectors)
    wire = selection.to_wire()["EventSelectors"]
    assert [msgspec.convert(s, EventSelector) for s in wire] == selectors
    assert msgspec.convert(msgspec.to_builtins(selection), EventSelection) == selection  # as stored


@given(selectors=st.lists(advanced_selectors, min_size=1, max_size=5))
def test_advanced_selectors_come_back_from_their_wire_form(selectors: list[AdvancedEventSelector]) -> None:
    selection = EventSelection(advanced=selectors)
    wire = selection.to_wire()["AdvancedEventSelectors"]
    assert [msgspec.convert(s, AdvancedEventSelector) for s in wire] == selectors
    assert msgspec.convert(msgspec.to_builtins(selection), EventSelection) == selection


# -- what Insights asks of a selection -----------------------------------------------------------------------


def basic(**changes: Any) -> EventSelection:
    return EventSelection(basic=[EventSelector(**changes)])


S3_ALL = [DataResource(type="AWS::S3::Object", values=["arn:aws:s3"])]
READ_ONLY = FieldSelector(field="readOnly", equals=["true"])
WRITES = FieldSelector(field="readOnly", equals=["false"])


@pytest.mark.parametrize(
    ("selection", "writes", "any_management", "data"),
    [
        (DEFAULT_SELECTION, True, True, False),
        (basic(read_write_type="WriteOnly"), True, True, False),
        (basic(read_write_type="ReadOnly"), False, True, False),
        (basic(include_management_events=False, data_resources=S3_ALL), False, False, True),
        (basic(data_resources=S3_ALL), True, True, True),
        (
            EventSelection(
                basic=[EventSelector(read_write_type="ReadOnly"), EventSelector(read_write_type="WriteOnly")]
            ),
            True,
            True,
            False,
        ),
        (EventSelection(basic=[]), False, False, False),
        (EventSelection(advanced=[advanced(MANAGEMENT)]), True, True, False),
        (EventSelection(advanced=[advanced(MANAGEMENT, READ_ONLY)]), False, True, False),
        (EventSelection(advanced=[advanced(MANAGEMENT, WRITES)]), True, True, False),
        (EventSelection(advanced=[advanced(DATA, S3_OBJECTS)]), False, False, True),
        (
            EventSelection(advanced=[advanced(DATA, S3_OBJECTS), advanced(MANAGEMENT, READ_ONLY)]),
            False,
            True,
            True,
        ),
        (
            EventSelection(
                advanced=[advanced(FieldSelector(field="eventCategory", equals=["NetworkActivity"]))]
            ),
            False,
            False,
            False,
        ),
    ],
)
def test_what_a_selection_logs(
    selection: EventSelection, writes: bool, any_management: bool, data: bool
) -> None:
    assert selection.logs_management(writes=True) is writes
    assert selection.logs_management(writes=False) is any_management
    assert selection.logs_data() is data


def test_an_advanced_selectors_category() -> None:
    assert advanced(MANAGEMENT).category == "Management"
    assert advanced(S3_OBJECTS, DATA).category == "Data"  # wherever the field stands
    assert advanced(S3_OBJECTS).category == ""
    assert advanced(DATA).field("resources.type") is None
    assert advanced(DATA, S3_OBJECTS).field("resources.type") == S3_OBJECTS
