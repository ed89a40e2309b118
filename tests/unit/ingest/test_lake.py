"""The PutAuditEvents payload checked and converted in-process (``opentrail.ingest.lake``): whatever a
producer puts in eventData, and however it spells it, is kept byte for byte."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opentrail.ingest import lake
from tests.support.audit_events import checksum, event_data, now_text

REGION = "us-east-1"


# Fields the schema constrains; the property test adds anything but these.
SCHEMA_FIELDS = {*event_data("0"), "errorCode", "errorMessage"}
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k not in SCHEMA_FIELDS), JSON_VALUES
    ),
    indent=st.sampled_from([None, 0, 2]),
    ensure_ascii=st.booleans(),
)
def test_conversion_keeps_event_data_verbatim(
    extra: dict[str, Any], indent: int | None, ensure_ascii: bool
) -> None:
    """Whatever a producer adds to eventData, and however it spells it, comes back byte for byte."""
    account = "123456789012"
    text = json.dumps({**event_data(account), **extra}, indent=indent, ensure_ascii=ensure_ascii)
    target = lake.Target(f"arn:aws:cloudtrail:{REGION}:{account}:channel/c-1", account, REGION, now_text())
    conversion = lake.convert_all([lake.AuditEvent("e1", text, checksum(text))], target, lambda: "event-1")
    assert conversion.failed == []
    [row] = conversion.rows
    assert row.record.endswith(b'"eventData":' + text.encode() + b"}")
    record = json.loads(row.record)
    assert record["eventData"] == json.loads(text)
    assert record["eventID"] == row.event_id == "event-1"
    assert (row.account, row.region, row.event_name, row.event_source) == (
        account,
        REGION,
        "SignIn",
        "app.example.com",
    )
