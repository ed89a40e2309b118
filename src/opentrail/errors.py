"""Every error OpenTrail reports, in one tree.

    OpenTrailError                     base; never reaches a client as a traceback
    ├── ApiError                       an error with a wire name (``__type``) and an HTTP status
    │   ├── ClientError                400: the request is wrong (CloudTrail's modelled exceptions)
    │   │   ├── TrailNotFoundException, InvalidTrailNameException, ... (one class per wire name)
    │   │   ├── ThrottlingException     400 so botocore's legacy retry mode retries it
    │   │   └── OrganizationsError      AWS Organizations' modelled exceptions, some with a ``Reason``
    │   ├── AuthError                  403: SigV4 failures (MissingAuthenticationToken, InvalidSignature, ...)
    │   └── ServiceError               500/503: the server could not do its part (retryable)
    ├── ConflictError                  a unique key already exists in the store
    ├── StoreError                     the store failed; the API answers a retryable 503
    ├── RecordError                    one CloudTrail record is malformed (reported per record, not per call)
    └── ConfigError                    a setting or CLI argument is wrong (the CLI prints it with a remedy)

Wire names come from botocore's cloudtrail / cloudtrail-data / organizations service models.
``error_body`` renders the JSON 1.1 error body; ``api_error`` builds a class for a modelled name on
demand so that every modelled exception is one line here, not a hand-written class each.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OpenTrailError(Exception):
    """Base of everything OpenTrail raises on purpose."""


class ConfigError(OpenTrailError):
    """A setting, file or command-line argument is wrong."""


class ConflictError(OpenTrailError):
    """A unique key already exists in the store (account id, access key, document name or ARN)."""


class StoreError(OpenTrailError):
    """The store failed (disk full, database gone); callers see a retryable ServiceError."""


class RecordError(OpenTrailError):
    """A single record failed validation; ``code`` is the per-record error code."""

    def __init__(self, message: str, code: str = "InvalidData") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ApiError(OpenTrailError):
    """An error that goes back to an API client with a wire name and an HTTP status."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(ApiError):
    status = 400


class AuthError(ApiError):
    status = 403


class ServiceError(ApiError):
    """The server could not complete the call; the client may retry."""

    code = "ServiceUnavailableException"
    status = 503


_CLASSES: dict[str, type[ApiError]] = {}


def api_error(code: str, base: type[ApiError] = ClientError) -> type[ApiError]:
    """The exception class for wire name ``code`` (created once, then cached)."""
    cls = _CLASSES.get(code)
    if cls is None:
        cls = type(code, (base,), {"code": code, "__module__": __name__})
        _CLASSES[code] = cls
    return cls


def raise_api(code: str, message: str) -> None:
    raise api_error(code)(message)


def error_body(err: ApiError) -> dict[str, Any]:
    """The JSON 1.1 error body botocore parses: code from ``__type``, text from ``message``; plus the
    ``Reason`` member AWS Organizations models on some of its errors (boto3 shows it to callers)."""
    body: dict[str, Any] = {"__type": err.code, "message": err.message}
    reason = getattr(err, "reason", None)
    if reason is not None:
        body["Reason"] = reason
    return body


class OrganizationsError(ClientError):
    """An AWS Organizations modelled error (all 400, AccessDeniedException included, as Organizations
    answers it). InvalidInputException and ConstraintViolationException name a ``Reason`` from the
    model's enum."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


_ORGANIZATIONS: dict[str, type[OrganizationsError]] = {}


def organizations_error(code: str) -> type[OrganizationsError]:
    """The class for Organizations' wire name ``code`` (kept apart from ``api_error``'s: Organizations'
    AccessDeniedException is a 400 client error, the protocol-level one a 403)."""
    cls = _ORGANIZATIONS.get(code)
    if cls is None:
        cls = type(code, (OrganizationsError,), {"code": code, "__module__": __name__})
        _ORGANIZATIONS[code] = cls
    return cls


# Protocol-level errors AWS JSON services answer before an operation runs.
SerializationException = api_error("SerializationException")
UnknownOperationException = api_error("UnknownOperationException")
ValidationException = api_error("ValidationException")
RequestEntityTooLarge = api_error("RequestEntityTooLargeException")
ThrottlingException = api_error("ThrottlingException")
AccessDeniedException = api_error("AccessDeniedException", AuthError)

# SigV4 failures (403).
MissingAuthenticationToken = api_error("MissingAuthenticationTokenException", AuthError)
IncompleteSignature = api_error("IncompleteSignatureException", AuthError)
InvalidSignature = api_error("InvalidSignatureException", AuthError)
UnrecognizedClient = api_error("UnrecognizedClientException", AuthError)


class SignatureExpired(AuthError):
    """X-Amz-Date too far from the server clock: CloudTrail's InvalidSignatureException, which S3 calls
    RequestTimeTooSkewed (so the S3 edge needs it as its own class)."""

    code = "InvalidSignatureException"


class PayloadHashMismatch(AuthError):
    """x-amz-content-sha256 is not the body's hash; S3 calls it XAmzContentSHA256Mismatch."""

    code = "InvalidSignatureException"


# CloudTrail's modelled exceptions used across modules.
TrailNotFound = api_error("TrailNotFoundException")
InvalidTrailName = api_error("InvalidTrailNameException")
CloudTrailARNInvalid = api_error("CloudTrailARNInvalidException")
InvalidParameter = api_error("InvalidParameterException")
InvalidParameterCombination = api_error("InvalidParameterCombinationException")
InvalidNextToken = api_error("InvalidNextTokenException")
InvalidTimeRange = api_error("InvalidTimeRangeException")
InvalidMaxResults = api_error("InvalidMaxResultsException")
InvalidLookupAttributes = api_error("InvalidLookupAttributesException")
InvalidEventCategory = api_error("InvalidEventCategoryException")
ResourceNotFound = api_error("ResourceNotFoundException")
InvalidTagParameter = api_error("InvalidTagParameterException")
TagsLimitExceeded = api_error("TagsLimitExceededException")
ChannelNotFound = api_error("ChannelNotFoundException")
ChannelARNInvalid = api_error("ChannelARNInvalidException")
NotOrganizationMasterAccount = api_error("NotOrganizationMasterAccountException")
OrganizationsNotInUse = api_error("OrganizationsNotInUseException")
OrganizationNotInAllFeaturesMode = api_error("OrganizationNotInAllFeaturesModeException")
