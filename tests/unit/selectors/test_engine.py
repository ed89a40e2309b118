"""The selector engine (``opentrail.selectors.engine``) on its own: the selector table, basic selectors
against their advanced equivalent (Hypothesis), and the real corpus records through realistic selector
sets.

Events go through the same path as in the server: ``index_record`` makes the store's row, and the
trail's ``Picker`` decides on the ``LogRow`` tuple delivery reads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from opentrail.errors import RecordError
from opentrail.ingest.records import index_record
from opentrail.selectors import facts
from opentrail.selectors.picker import Picker, matcher
from opentrail.store import LogRow
from tests.support.selection_cases import (
    ACCOUNT,
    CASES,
    HELLO,
    HELLO2,
    OBJECT_A,
    OBJECT_B,
    REGION,
    TABLE,
    Case,
    dynamodb_item,
    lambda_invoke,
    legacy_data,
    management,
    s3_object,
    trail_with,
)


def row_of(record: dict[str, Any] | bytes, seq: int = 1) -> LogRow:
    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    row = index_record(raw, ACCOUNT)
    read_only = None if row.read_only is None else int(row.read_only)
    return (seq, 1, int(row.kind), read_only, row.event_source, row.time_ms, row.record)


# -- the table ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_selector_table(case: Case) -> None:
    picker = Picker(trail_with(case.wire()))
    compiled = matcher(trail_with(case.wire()))
    for index, (record, expected) in enumerate(case.events):
        row = row_of(record, index + 1)
        assert picker(row) is expected, (case.name, record)
        # The per-record path gives the same answer as the cached per-row-shape one.
        assert compiled.selects(row[2], facts.facts_of(row[6], row[2])) is expected, (case.name, record)
    # Asked again, the cached decisions still hold.
    assert [picker(row_of(r, 99)) for r, _ in case.events] == [e for _, e in case.events]


def test_the_table_covers_every_field_and_operator() -> None:
    used: set[tuple[str, str]] = set()
    for case in CASES:
        for selector in case.selectors if case.advanced else ():
            for field in selector["FieldSelectors"]:
                used.update((field["Field"], op) for op in field if op != "Field")
    operators = {"Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"}
    assert {field for field, _ in used} == set(facts.FIELDS)
    assert {op for _, op in used} == operators
    for field in (
        "eventName",
        "eventType",
        "userIdentity.arn",
        "resources.ARN",
        "vpcEndpointId",
        "eventSource",
    ):
        assert {op for f, op in used if f == field} == operators, field


def test_json_escapes_do_not_hide_a_match() -> None:
    """Records are matched on their decoded text: an ARN written with JSON escapes (``\\/``, ``\\u0061``)
    is the same ARN, though its bytes do not contain the selector's value."""
    wire = {
        "AdvancedEventSelectors": [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::bucket-a/logs/"]},
                ]
            }
        ]
    }
    picker = Picker(trail_with(wire))
    plain = json.dumps(s3_object(OBJECT_A)).encode()
    escaped = plain.replace(b"bucket-a/logs/", b"bucket-\\u0061\\/logs\\/")
    assert b"bucket-a/logs/" not in escaped
    assert picker(row_of(plain)) is True
    assert picker(row_of(escaped, 2)) is True
    assert picker(row_of(s3_object(OBJECT_B), 3)) is False


def test_a_listing_is_selected_by_the_objects_its_arn_prefix_covers() -> None:
    """S3 writes ``ARNPrefix`` (the bucket and the listed prefix) instead of ``ARN`` for ListObjects: a
    data selector on the bucket's objects selects the listing, one on another bucket does not."""
    listing = s3_object(OBJECT_A, eventName="ListObjects", readOnly=True)
    bucket = listing["resources"][1]["ARN"]
    listing["resources"][0] = {"type": "AWS::S3::Object", "ARNPrefix": f"{bucket}/logs/"}
    for value, expected in ((f"{bucket}/", True), ("arn:aws:s3:::another-bucket/", False)):
        wire = {
            "EventSelectors": [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": False,
                    "DataResources": [{"Type": "AWS::S3::Object", "Values": [value]}],
                }
            ]
        }
        row = row_of(listing)
        assert Picker(trail_with(wire))(row) is expected, value
        assert matcher(trail_with(wire)).selects(row[2], facts.facts_of(row[6], row[2])) is expected, value


# -- basic selectors and their advanced equivalent (Hypothesis) ----------------------------------------------

S3_VALUES = [
    "arn:aws:s3",
    "arn:aws:s3:::bucket-a/",
    "arn:aws:s3:::bucket-b/logs/",
    "arn:aws:s3:::bucket-a/logs/a",
]
LAMBDA_VALUES = ["arn:aws:lambda", HELLO, HELLO2]
DYNAMODB_VALUES = ["arn:aws:dynamodb", TABLE]
VALUES = {
    "AWS::S3::Object": S3_VALUES,
    "AWS::Lambda::Function": LAMBDA_VALUES,
    "AWS::DynamoDB::Table": DYNAMODB_VALUES,
}


@st.composite
def basic_selectors(draw: st.DrawFn) -> list[dict[str, Any]]:
    selectors = []
    for _ in range(draw(st.integers(1, 2))):
        resources = []
        for kind in draw(st.lists(st.sampled_from(sorted(VALUES)), unique=True, max_size=3)):
            values = draw(st.lists(st.sampled_from(VALUES[kind]), min_size=1, max_size=3, unique=True))
            resources.append({"Type": kind, "Values": values})
        selectors.append(
            {
                "ReadWriteType": draw(st.sampled_from(["ReadOnly", "WriteOnly", "All"])),
                "IncludeManagementEvents": draw(st.booleans()),
                "DataResources": resources,
                "ExcludeManagementEventSources": draw(
                    st.lists(st.sampled_from(["kms.amazonaws.com", "rdsdata.amazonaws.com"]), unique=True)
                ),
            }
        )
    return selectors


def documented_equivalent(basic: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The advanced selectors CloudTrail's documentation gives for basic ones, written out here by hand:
    management events with readOnly and eventSource NotEquals; per data resource type, resources.ARN
    StartsWith the S3 prefixes, Equals the function or table ARNs, nothing for the "all" forms."""
    out: list[dict[str, Any]] = []
    for selector in basic:
        rw = {"ReadOnly": ["true"], "WriteOnly": ["false"]}.get(selector["ReadWriteType"])
        read_only = [{"Field": "readOnly", "Equals": rw}] if rw else []
        if selector["IncludeManagementEvents"]:
            fields = [{"Field": "eventCategory", "Equals": ["Management"]}, *read_only]
            if selector["ExcludeManagementEventSources"]:
                fields.append(
                    {"Field": "eventSource", "NotEquals": selector["ExcludeManagementEventSources"]}
                )
            out.append({"FieldSelectors": fields})
        for resource in selector["DataResources"]:
            kind, values = resource["Type"], resource["Values"]
            fields = [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": [kind]},
                *read_only,
            ]
            if not any(v in ("arn:aws:s3", "arn:aws:lambda", "arn:aws:dynamodb") for v in values):
                operator = "StartsWith" if kind == "AWS::S3::Object" else "Equals"
                fields.append({"Field": "resources.ARN", operator: values})
            out.append({"FieldSelectors": fields})
    return out


def _events() -> st.SearchStrategy[dict[str, Any]]:
    read_only = st.sampled_from([True, False, None])
    return st.one_of(
        st.builds(
            lambda ro, source: management(readOnly=ro, eventSource=source),
            read_only,
            st.sampled_from(["ec2.amazonaws.com", "kms.amazonaws.com", "rdsdata.amazonaws.com"]),
        ),
        st.builds(
            lambda ro, arn: s3_object(arn, readOnly=ro),
            read_only,
            st.sampled_from(
                [OBJECT_A, OBJECT_B, "arn:aws:s3:::bucket-a/logs/a.txt", "arn:aws:s3:::bucket-c/x"]
            ),
        ),
        st.builds(
            lambda ro, arn: lambda_invoke(arn, readOnly=ro), read_only, st.sampled_from([HELLO, HELLO2])
        ),
        st.builds(
            lambda ro, arn: dynamodb_item(arn, readOnly=ro),
            read_only,
            st.sampled_from([TABLE, TABLE + "-archive"]),
        ),
        st.just(legacy_data()),
    )


@settings(max_examples=200, deadline=None)
@given(basic=basic_selectors(), events=st.lists(_events(), min_size=1, max_size=12))
def test_basic_selectors_select_what_their_advanced_equivalent_selects(
    basic: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    as_basic = Picker(trail_with({"EventSelectors": basic}))
    advanced = documented_equivalent(basic)
    if not advanced:  # nothing selected at all: no advanced form (CloudTrail needs at least one selector)
        assert not any(as_basic(row_of(e)) for e in events)
        return
    assume(len(advanced) <= 5)  # a trail takes at most five advanced selectors
    as_advanced = Picker(trail_with({"AdvancedEventSelectors": advanced}))
    for seq, event in enumerate(events, start=1):
        row = row_of(event, seq)
        assert as_basic(row) == as_advanced(row), (event, basic, advanced)


# -- the corpus ----------------------------------------------------------------------------------------------

GLOBAL = {
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "cloudfront.amazonaws.com",
    "route53.amazonaws.com",
    "waf.amazonaws.com",
    "organizations.amazonaws.com",
}


def _category(record: dict[str, Any]) -> str:
    if "eventCategory" in record:
        return str(record["eventCategory"])
    return "Data" if record.get("managementEvent") is False else "Management"


def _objects(record: dict[str, Any]) -> list[str]:
    return [str(r.get("ARN")) for r in record.get("resources") or [] if r.get("type") == "AWS::S3::Object"]


# (name, selectors, the rule read directly off the record, expected count ranges are checked below)
CORPUS_SETS: list[tuple[str, dict[str, Any], Any, dict[str, Any]]] = [
    (
        "default",
        {"EventSelectors": [{}]},
        lambda r: _category(r) == "Management",
        {},
    ),
    (
        "read-only management without KMS",
        {
            "EventSelectors": [
                {"ReadWriteType": "ReadOnly", "ExcludeManagementEventSources": ["kms.amazonaws.com"]}
            ]
        },
        lambda r: (
            _category(r) == "Management"
            and r.get("readOnly") is True
            and r["eventSource"] != "kms.amazonaws.com"
        ),
        {},
    ),
    (
        "writes, and S3 object reads other than listings",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Management"]},
                        {"Field": "readOnly", "Equals": ["false"]},
                    ]
                },
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::"]},
                        {"Field": "eventName", "NotEquals": ["ListObjects"]},
                    ]
                },
            ]
        },
        lambda r: (
            (_category(r) == "Management" and r.get("readOnly") is False)
            or (
                _category(r) == "Data"
                and any(a.startswith("arn:aws:s3:::") for a in _objects(r))
                and r["eventName"] != "ListObjects"
            )
        ),
        {},
    ),
    (
        "all data events of roles' sessions, and every S3 object",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    ]
                },
                {
                    "FieldSelectors": [
                        {"Field": "eventCategory", "Equals": ["Data"]},
                        {"Field": "resources.type", "Equals": ["AWS::SES::EmailIdentity"]},
                        {"Field": "userIdentity.arn", "StartsWith": ["arn:aws:sts::"]},
                    ]
                },
            ]
        },
        lambda r: (
            _category(r) == "Data"
            and (
                bool(_objects(r))
                or (
                    any(x.get("type") == "AWS::SES::EmailIdentity" for x in r.get("resources") or [])
                    and str((r.get("userIdentity") or {}).get("arn", "")).startswith("arn:aws:sts::")
                )
            )
        ),
        {},
    ),
    (
        "single-region us-east-1 without global services",
        {"EventSelectors": [{}]},
        lambda r: _category(r) == "Management" and r["eventSource"] not in GLOBAL,
        {"include_global_service_events": False},
    ),
]


@pytest.fixture(scope="module")
def corpus_rows() -> list[tuple[dict[str, Any], LogRow]]:
    from tests.support.corpus import CORPUS, corpus_items

    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    rows = []
    for seq, item in enumerate(corpus_items(), start=1):
        try:
            rows.append((item.record, row_of(item.raw, seq)))
        except RecordError:
            continue  # records ingest refuses never reach a trail
    assert len(rows) > 3000
    return rows


@pytest.mark.parametrize(("name", "wire", "rule", "members"), CORPUS_SETS, ids=[s[0] for s in CORPUS_SETS])
def test_corpus_through_realistic_selectors(
    corpus_rows: list[tuple[dict[str, Any], LogRow]],
    name: str,
    wire: dict[str, Any],
    rule: Any,
    members: dict[str, Any],
) -> None:
    # A single-region trail (the set with trail members) reads only its own region's events.
    rows = [(r, row) for r, row in corpus_rows if r["awsRegion"] == REGION] if members else corpus_rows
    picker = Picker(trail_with(wire, **members))
    chosen = {row[0] for record, row in rows if picker(row)}
    expected = {row[0] for record, row in rows if rule(record)}
    assert expected, f"{name}: the corpus should hold events this set selects"
    assert len(expected) < len(rows) or name == "default"
    assert chosen == expected, name
