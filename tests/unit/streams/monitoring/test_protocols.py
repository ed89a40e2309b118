"""The three protocols against botocore's own client side: what botocore's serializers send decodes to
the plain parameters operations take, and what the server answers parses, with botocore's parsers,
back to the result it was given, for operations of every shape (alarms' included: nothing about an
operation but its model is needed). Errors parse to the model's codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import botocore.parsers
import botocore.serialize
import pytest
from starlette.requests import Request

from opentrail.errors import UnknownOperationException, api_error
from opentrail.streams.monitoring import model
from opentrail.streams.monitoring.protocols import Wire, wire_of

PROTOCOLS = {"query": Wire.QUERY, "json": Wire.JSON, "smithy-rpc-v2-cbor": Wire.CBOR}
T0 = 1_700_000_000.0

INPUTS: list[tuple[str, dict[str, Any]]] = [
    (
        "PutMetricData",
        {
            "Namespace": "App",
            "MetricData": [
                {
                    "MetricName": "Latency",
                    "Dimensions": [{"Name": "Host", "Value": "a b&c"}, {"Name": "Az", "Value": "1"}],
                    "Timestamp": T0,
                    "Values": [1.5, 2.0],
                    "Counts": [1.0, 3.0],
                    "Unit": "Milliseconds",
                    "StorageResolution": 1,
                },
                {
                    "MetricName": "Set",
                    "StatisticValues": {"SampleCount": 2.0, "Sum": 3.0, "Minimum": 1.0, "Maximum": 2.0},
                },
            ],
        },
    ),
    (
        "GetMetricData",
        {
            "MetricDataQueries": [
                {
                    "Id": "m1",
                    "MetricStat": {
                        "Metric": {"Namespace": "App", "MetricName": "Latency"},
                        "Period": 60,
                        "Stat": "p99",
                    },
                    "ReturnData": False,
                },
                {"Id": "e1", "Expression": "m1*2", "Label": "double"},
            ],
            "StartTime": T0,
            "EndTime": T0 + 3600.5,
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": 10,
        },
    ),
    (
        "ListMetrics",
        {"Dimensions": [{"Name": "Host"}], "RecentlyActive": "PT3H", "IncludeLinkedAccounts": True},
    ),
    (
        "PutMetricAlarm",
        {
            "AlarmName": "root-use",
            "ActionsEnabled": True,
            "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:ops"],
            "MetricName": "RootUse",
            "Namespace": "CIS",
            "Statistic": "Sum",
            "Period": 10,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "Tags": [{"Key": "team", "Value": "sec"}],
        },
    ),
    ("ListMetrics", {}),
]

OUTPUTS: list[tuple[str, dict[str, Any]]] = [
    (
        "GetMetricStatistics",
        {
            "Label": "Latency",
            "Datapoints": [
                {
                    "Timestamp": T0,
                    "Sum": 3.5,
                    "Unit": "Count",
                    "ExtendedStatistics": {"p99": 2.0, "p50": 1.25},
                },
                {"Timestamp": T0 + 60.25, "SampleCount": 2.0, "Unit": "Count"},
            ],
        },
    ),
    (
        "GetMetricData",
        {
            "MetricDataResults": [
                {
                    "Id": "e1",
                    "Label": "a <label> & more",
                    "Timestamps": [T0, T0 + 60],
                    "Values": [1.0, -2.5],
                    "StatusCode": "PartialData",
                    "Messages": [{"Code": "c", "Value": "v"}],
                }
            ],
            "NextToken": "abc.def",
            "Messages": [],
        },
    ),
    (
        "DescribeAlarms",
        {
            "MetricAlarms": [
                {
                    "AlarmName": "root-use",
                    "ActionsEnabled": False,
                    "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:ops"],
                    "StateValue": "ALARM",
                    "StateUpdatedTimestamp": T0,
                    "Threshold": 1.0,
                    "EvaluationPeriods": 3,
                    "Dimensions": [{"Name": "d", "Value": "v"}],
                }
            ],
            "CompositeAlarms": [],
        },
    ),
    ("ListMetrics", {"Metrics": [{"Namespace": "App", "MetricName": "m", "Dimensions": []}]}),
    ("PutMetricData", {}),
]


def request_of(serialized: dict[str, Any]) -> tuple[Request, bytes]:
    body = serialized["body"]
    if isinstance(body, dict):
        body = urlencode(body).encode()
    headers = [(k.lower().encode(), str(v).encode()) for k, v in serialized["headers"].items()]
    scope = {
        "type": "http",
        "method": serialized["method"],
        "path": serialized["url_path"],
        "query_string": b"",
        "headers": headers,
    }
    return Request(scope), body


def plain(value: Any) -> Any:
    """botocore's parsed form with datetimes as epoch seconds, for comparison."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize(("name", "params"), INPUTS)
def test_botocores_requests_decode_to_the_plain_parameters(
    protocol: str, name: str, params: dict[str, Any]
) -> None:
    operation = model.operation(name)
    serializer = botocore.serialize.create_serializer(protocol, include_validation=True)
    sent = {k: datetime.fromtimestamp(v, UTC) if k.endswith("Time") else v for k, v in params.items()}
    request, body = request_of(serializer.serialize_to_request(sent, operation))
    wire = wire_of(request)
    assert wire is PROTOCOLS[protocol]
    read_name, read_operation, raw = wire.read(request, body)
    assert (read_name, read_operation) == (name, operation)
    decoded = wire.params(request, operation, raw)
    expected = json.loads(json.dumps(params))  # ints stay ints, floats floats
    if name == "PutMetricData":
        # botocore serialises a timestamp without sub-second digits when it has none.
        expected["MetricData"][0]["Timestamp"] = T0
    assert decoded == expected


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize(("name", "result"), OUTPUTS)
def test_answers_parse_with_botocore_to_the_result(protocol: str, name: str, result: dict[str, Any]) -> None:
    operation = model.operation(name)
    response = PROTOCOLS[protocol].answer(operation, result, "req-1")
    parsed = botocore.parsers.create_parser(protocol).parse(
        {
            "body": bytes(response.body),
            "headers": dict(response.headers),
            "status_code": response.status_code,
        },
        operation.output_shape,
    )
    # botocore's CBOR parser reads no metadata for an operation without output (PutMetricData).
    assert (
        parsed["ResponseMetadata"].get("RequestId", "req-1")
        == response.headers["x-amzn-requestid"]
        == "req-1"
    )
    assert plain(parsed) == result


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize(
    ("error", "code", "status", "side"),
    [
        (
            api_error("InvalidParameterValueException")("bad <value> & more"),
            "InvalidParameterValue",
            400,
            "Sender",
        ),
        (api_error("ResourceNotFound")("no such alarm"), "ResourceNotFound", 404, "Sender"),
        (api_error("InternalServiceFault")("oops"), "InternalServiceError", 500, "Receiver"),
        (UnknownOperationException("no such operation"), None, 400, "Sender"),
    ],
)
def test_errors_parse_to_the_models_codes(
    protocol: str, error: Any, code: str | None, status: int, side: str
) -> None:
    response = PROTOCOLS[protocol].fail(error, "req-2")
    assert response.status_code == status
    parsed = botocore.parsers.create_parser(protocol).parse(
        {"body": bytes(response.body), "headers": dict(response.headers), "status_code": status}, None
    )
    expected = code or ("InvalidAction" if protocol == "query" else "UnknownOperationException")
    if code is None and protocol != "query":
        expected = "InvalidAction"  # the query code from x-amzn-query-error, as botocore reads it
    assert parsed["Error"]["Code"] == expected
    assert parsed["Error"]["Message"] == error.message
    assert parsed["Error"].get("Type", side) == side


def test_text_xml_cannot_carry_is_replaced_so_the_answer_still_parses() -> None:
    operation = model.operation("GetMetricData")
    result = {"MetricDataResults": [{"Id": "e1", "Label": "a\x01b\x00", "Timestamps": [], "Values": []}]}
    response = Wire.QUERY.answer(operation, result, "req-3")
    parsed = botocore.parsers.create_parser("query").parse(
        {"body": bytes(response.body), "headers": dict(response.headers), "status_code": 200},
        operation.output_shape,
    )
    assert parsed["MetricDataResults"][0]["Label"] == "a\ufffdb\ufffd"
