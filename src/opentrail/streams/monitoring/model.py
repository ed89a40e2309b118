"""CloudWatch's service model as botocore ships it: the authority for operation names, their input and
output shapes, and each error shape's query code, HTTP status and fault side (the model is
``awsQueryCompatible``: JSON and CBOR errors carry the query code in ``x-amzn-query-error``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import botocore.loaders
from botocore.model import OperationModel, ServiceModel

from opentrail.errors import ApiError

__all__ = ["EVENT_SOURCE", "NAMESPACE", "TARGET_PREFIX", "Fault", "fault_of", "operation", "service"]

EVENT_SOURCE = "monitoring.amazonaws.com"
NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
TARGET_PREFIX = "GraniteServiceVersion20100801"
API_VERSION = "2010-08-01"

# Errors raised before or around an operation that the model does not list, by the name the query
# protocol gives them (botocore's QueryParser reads <Code>).
QUERY_CODES = {"UnknownOperationException": "InvalidAction", "SerializationException": "MalformedInput"}


@functools.cache
def service() -> ServiceModel:
    data = botocore.loaders.create_loader().load_service_model("cloudwatch", "service-2")
    return ServiceModel(data, "cloudwatch")


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(service().operation_names)


def operation(name: str) -> OperationModel | None:
    """The model of operation ``name``, or None when CloudWatch has no such operation."""
    return service().operation_model(name) if name in _names() else None


@dataclass(frozen=True)
class Fault:
    """How an error goes on the wire: its JSON/CBOR ``__type``, its query code, status and side."""

    type: str
    query_code: str
    status: int
    sender: bool


@functools.cache
def _modelled() -> dict[str, Fault]:
    faults = {}
    for shape in service().error_shapes:
        error = shape.metadata.get("error", {})
        status = int(error.get("httpStatusCode", 400))
        faults[shape.name] = Fault(
            shape.name,
            str(error.get("code", shape.name)),
            status,
            bool(error.get("senderFault", status < 500)),
        )
    return faults


def fault_of(err: ApiError) -> Fault:
    """``err`` as the model says it goes out (``err.code`` is the error shape's name); an error the model
    does not list keeps its own code and status."""
    found = _modelled().get(err.code)
    if found is not None:
        return found
    return Fault(err.code, QUERY_CODES.get(err.code, err.code), err.status, err.status < 500)
