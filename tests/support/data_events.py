"""Generated data and network activity records (Hypothesis), in every shape producers write the fields
selectors read beyond the row's columns: shared by the selector facts and picker tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
# What odd producers put in fields ingest does not check: selectors compare them as text, or as absent.
_odd = st.one_of(
    st.none(),
    _text,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
)
_resource = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(st.none(), st.sampled_from(["AWS::S3::Object", "AWS::S3::Bucket"]), _text),
        "ARN": st.one_of(st.none(), _text),
        "accountId": _text,
    },
)
_MISSING = object()


@st.composite
def data_records(draw: st.DrawFn) -> bytes:
    record: dict[str, Any] = {
        "eventVersion": "1.11",
        "eventTime": "2026-01-02T03:04:05Z",
        "eventSource": draw(
            st.sampled_from(["s3.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com"])
        ),
        "eventName": draw(st.sampled_from(["GetObject", "PutObject", "Invoke"])),
        "awsRegion": "us-east-1",
        "eventID": draw(st.uuids()).hex,
    }
    category = draw(st.sampled_from(["Data", "NetworkActivity", None]))
    if category is None:
        record["managementEvent"] = False  # before eventVersion 1.07: no category
    else:
        record["eventCategory"] = category
    optional: dict[str, Any] = {
        "readOnly": st.booleans(),
        "eventType": st.sampled_from(["AwsApiCall", "AwsServiceEvent"]),
        "userIdentity": st.fixed_dictionaries({}, optional={"arn": st.one_of(st.none(), _text)}),
        "resources": st.one_of(st.none(), st.lists(_resource, max_size=3)),
        "errorCode": _odd,
        "sessionCredentialFromConsole": _odd,
        "vpcEndpointId": _odd,
    }
    for name, strategy in optional.items():
        value = draw(st.one_of(st.just(_MISSING), strategy))
        if value is not _MISSING:
            record[name] = value
    return json.dumps(record).encode()
