"""What the CloudWatch alarm tests share: a valid PutMetricAlarm to vary, unique names, and an error as
botocore parsed it (its code, HTTP status and message)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import botocore.exceptions
import pytest

REGION = "us-east-1"


def unique(stem: str = "t") -> str:
    """A name prefix no other test uses."""
    return f"{stem}-{uuid.uuid4().hex[:10]}-"


def alarm(name: str, **members: Any) -> dict[str, Any]:
    """A valid single-metric PutMetricAlarm for ``name``, ``members`` added or replacing. Missing data
    is ``ignore``d, so the server's evaluator keeps whatever state a test gives the alarm."""
    call: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": "App/Alarms",
        "MetricName": "Errors",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "ignore",
    }
    call.update(members)
    return {k: v for k, v in call.items() if v is not None}


def refusal(call: Callable[..., Any], **params: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of the error ``call(**params)`` must raise."""
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"].get("Message", "")),
    )


def request_id(answer: dict[str, Any]) -> str:
    """The answer's request id (botocore's rpc-v2-cbor parser leaves it out of an operation without
    output: it is then read from the header the server sent)."""
    metadata = answer["ResponseMetadata"]
    return str(metadata.get("RequestId") or metadata["HTTPHeaders"]["x-amzn-requestid"])


def aware(value: Any) -> datetime:
    """``value`` checked to be a timezone-aware datetime (what botocore makes of a wire timestamp)."""
    assert isinstance(value, datetime), value
    assert value.utcoffset() is not None, value
    return value


def names(answer: dict[str, Any]) -> list[str]:
    return [a["AlarmName"] for a in answer["MetricAlarms"]]
