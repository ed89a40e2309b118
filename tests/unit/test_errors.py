"""The error tree (``errors.py``): the one JSON error body botocore parses, one class per wire name, and
every wire name one that botocore's service models (or the AWS JSON protocol itself) define."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from botocore.parsers import create_parser

from opentrail import errors
from opentrail.errors import (
    ApiError,
    AuthError,
    ClientError,
    OrganizationsError,
    api_error,
    error_body,
    organizations_error,
)

# Answered by the AWS JSON protocol before any operation runs, so in no service model.
PROTOCOL_ERRORS = {
    "SerializationException",
    "UnknownOperationException",
    "ValidationException",
    "RequestEntityTooLargeException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "InternalFailure",
    "ServiceUnavailableException",
}
SESSION = botocore.session.get_session()


def modelled(service: str) -> set[str]:
    return {shape.name for shape in SESSION.get_service_model(service).error_shapes}


def parsed(service: str, body: dict[str, Any], status: int = 400) -> dict[str, Any]:
    """What botocore makes of an error answer, as its client does: the code and message, then the
    members of the modelled error shape (``Reason``)."""
    model = SESSION.get_service_model(service)
    response = {"status_code": status, "headers": {}, "body": json.dumps(body).encode()}
    parser = create_parser(model.protocol)
    result: dict[str, Any] = parser.parse(response, None)
    shape = model.shape_for_error_code(result["Error"]["Code"])
    if shape is not None:
        result.update(parser.parse(response, shape))
    return result


def test_the_json_error_body_has_type_message_and_reason_only_when_there_is_one() -> None:
    plain = errors.TrailNotFound("Unknown trail: t for the user: 111122223333")
    assert error_body(plain) == {
        "__type": "TrailNotFoundException",
        "message": "Unknown trail: t for the user: 111122223333",
    }
    with_reason = errors.InvalidInput("MaxResults must be at most 20, got 21", "MAX_VALUE_EXCEEDED")
    assert error_body(with_reason) == {
        "__type": "InvalidInputException",
        "message": "MaxResults must be at most 20, got 21",
        "Reason": "MAX_VALUE_EXCEEDED",
    }
    # An Organizations error need not name a reason; the body then has none (not a null).
    assert "Reason" not in error_body(errors.AccountNotFound("no such account"))
    # botocore reads the code from __type, the text from message, and the modelled Reason member.
    got = parsed("cloudtrail", error_body(plain))
    assert got["Error"] == {"Code": "TrailNotFoundException", "Message": plain.message}
    got = parsed("organizations", error_body(with_reason))
    assert got["Error"]["Code"] == "InvalidInputException"
    assert got["Reason"] == "MAX_VALUE_EXCEEDED"


def test_api_error_makes_one_class_per_wire_name() -> None:
    made = api_error("SomeNewException")
    assert api_error("SomeNewException") is made
    assert made.__name__ == made.code == "SomeNewException"
    assert issubclass(made, ClientError)
    assert made.status == 400
    denied = api_error("SomeDeniedException", AuthError)
    assert (issubclass(denied, AuthError), denied.status) == (True, 403)
    raised = made("the message")
    assert (raised.message, str(raised)) == ("the message", "the message")
    with pytest.raises(made, match="said once"):
        errors.raise_api("SomeNewException", "said once")


def test_organizations_access_denied_is_its_own_400_class() -> None:
    """Organizations answers AccessDeniedException as a modelled 400; the protocol's is a 403."""
    assert errors.OrganizationsAccessDenied.code == errors.AccessDeniedException.code
    assert errors.OrganizationsAccessDenied is not errors.AccessDeniedException
    assert errors.OrganizationsAccessDenied.status == 400
    assert errors.AccessDeniedException.status == 403
    assert organizations_error("AccessDeniedException") is errors.OrganizationsAccessDenied


def test_statuses_are_what_botocore_expects() -> None:
    # Every modelled CloudTrail error is a 400 (reference §1.4); ThrottlingException too, so botocore's
    # legacy retry mode retries it.
    assert errors.TrailNotFound.status == errors.ThrottlingException.status == 400
    assert errors.ServiceError.status == 503  # retried by botocore
    assert errors.InternalFailure.status == 500
    for signature in (errors.MissingAuthenticationToken, errors.InvalidSignature, errors.SignatureExpired):
        assert signature.status == 403
    # S3 names these apart; the JSON services call both InvalidSignatureException.
    assert errors.SignatureExpired.code == errors.PayloadHashMismatch.code == "InvalidSignatureException"


def test_an_invalid_next_token_names_a_reason_of_the_models_enum() -> None:
    err = errors.OrganizationsInvalidNextToken("NextToken was not issued for this listing")
    assert (err.code, err.reason) == ("InvalidInputException", "INVALID_NEXT_TOKEN")
    shape = SESSION.get_service_model("organizations").shape_for("InvalidInputException")
    assert err.reason in shape.members["Reason"].enum


def api_error_classes() -> list[type[ApiError]]:
    found = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ApiError) and value.__module__ == errors.__name__
    ]
    # The bases and S3's own errors (XML, not JSON) are not wire names of the JSON services.
    left_out = {ApiError, ClientError, AuthError, OrganizationsError, errors.S3Error, errors.ListError}
    return [cls for cls in found if cls not in left_out]


def test_every_wire_name_is_a_modelled_exception_or_a_protocol_error() -> None:
    json_services = (
        modelled("cloudtrail")
        | modelled("cloudtrail-data")
        | modelled("organizations")
        | modelled("logs")
        | modelled("cloudwatch")
    )
    classes = api_error_classes()
    assert len(classes) > 60  # the module's errors were found at all
    unknown = sorted({cls.code for cls in classes} - json_services - PROTOCOL_ERRORS)
    assert unknown == []


def test_organizations_errors_are_organizations_wire_names() -> None:
    names = modelled("organizations")
    for cls in api_error_classes():
        if issubclass(cls, OrganizationsError):
            assert cls.code in names, cls
