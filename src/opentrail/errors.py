"""Every error OpenTrail raises on purpose, in one tree.

    OpenTrailError                     base; never reaches a client as a traceback
    ├── ApiError                       an error with a wire name (``__type``) and an HTTP status
    │   ├── ClientError                400: the request is wrong (the services' modelled exceptions)
    │   │   ├── TrailNotFoundException, InvalidTrailNameException, ... (one class per wire name)
    │   │   ├── ThrottlingException     400 so botocore's legacy retry mode retries it
    │   │   └── OrganizationsError      AWS Organizations' modelled exceptions, some with a ``Reason``
    │   ├── AuthError                  403: SigV4 failures (MissingAuthenticationToken, InvalidSignature, ...)
    │   ├── ServiceError               500/503: the server could not do its part (retryable)
    │   ├── InternalFailure            500: a bug; the traceback goes to the server log only
    │   ├── S3Error                    the S3 subset's errors, code and status per instance (XML shape)
    │   └── ListError                  S3's InvalidArgument for a bad listing parameter
    ├── ConflictError                  a unique key already exists in the store
    ├── StoreError                     the store failed; the API answers a retryable 503
    ├── StorageError                   the bucket store failed; delivery retries later
    │   └── InvalidBucketName, InvalidKey, BucketExists, BucketNotEmpty, NoSuchBucket, NoSuchKey,
    │       SealFailed
    ├── SnsError                       SNS failed or refused; ``retry`` says whether a later attempt may work
    ├── RecordError                    one CloudTrail record is malformed (reported per record, not per call)
    ├── RemoteError                    a client of the server (the CLI) got an error answer
    ├── ValidationAborted              validate-logs cannot go on (exit 255)
    └── ConfigError                    a setting or CLI argument is wrong (the CLI prints it with a remedy)

Wire names come from botocore's cloudtrail / cloudtrail-data / organizations service models.
``error_body`` renders the JSON 1.1 error body; ``api_error`` builds a class for a modelled name on
demand so that every modelled exception is one line here, not a hand-written class each. Exceptions
that only steer control flow inside one module (``LeaseLost``, ``ObjectMissing``, ``TransportError``)
are not errors of the service and stay with that module.
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


class InvalidFilterPattern(ClientError):
    """A filter pattern that does not parse; CloudWatch Logs answers ``InvalidParameterException``.

    ``position`` is the character offset in the pattern where parsing stopped."""

    code = "InvalidParameterException"

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


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


# CloudTrail's and cloudtrail-data's modelled exceptions (botocore's service models), by name.
ChannelARNInvalid = api_error("ChannelARNInvalidException")
ChannelAlreadyExists = api_error("ChannelAlreadyExistsException")
ChannelInsufficientPermission = api_error("ChannelInsufficientPermission", AuthError)
ChannelMaxLimitExceeded = api_error("ChannelMaxLimitExceededException")
ChannelNotFound = api_error("ChannelNotFoundException")
CloudTrailARNInvalid = api_error("CloudTrailARNInvalidException")
DataChannelNotFound = api_error("ChannelNotFound")
DuplicatedAuditEventId = api_error("DuplicatedAuditEventId")
EventDataStoreARNInvalid = api_error("EventDataStoreARNInvalidException")
EventDataStoreNotFound = api_error("EventDataStoreNotFoundException")
InsightNotEnabled = api_error("InsightNotEnabledException")
InsufficientS3BucketPolicy = api_error("InsufficientS3BucketPolicyException")
InsufficientSnsTopicPolicy = api_error("InsufficientSnsTopicPolicyException")
InvalidChannelARN = api_error("InvalidChannelARN")
InvalidCloudWatchLogsLogGroupArn = api_error("InvalidCloudWatchLogsLogGroupArnException")
InvalidCloudWatchLogsRoleArn = api_error("InvalidCloudWatchLogsRoleArnException")
InvalidEventCategory = api_error("InvalidEventCategoryException")
InvalidEventSelectors = api_error("InvalidEventSelectorsException")
InvalidHomeRegion = api_error("InvalidHomeRegionException")
InvalidInsightSelectors = api_error("InvalidInsightSelectorsException")
InvalidKmsKeyId = api_error("InvalidKmsKeyIdException")
InvalidLookupAttributes = api_error("InvalidLookupAttributesException")
InvalidMaxResults = api_error("InvalidMaxResultsException")
InvalidNextToken = api_error("InvalidNextTokenException")
InvalidParameter = api_error("InvalidParameterException")
InvalidParameterCombination = api_error("InvalidParameterCombinationException")
InvalidS3BucketName = api_error("InvalidS3BucketNameException")
InvalidS3Prefix = api_error("InvalidS3PrefixException")
InvalidSnsTopicName = api_error("InvalidSnsTopicNameException")
InvalidSource = api_error("InvalidSourceException")
InvalidTagParameter = api_error("InvalidTagParameterException")
InvalidTimeRange = api_error("InvalidTimeRangeException")
InvalidToken = api_error("InvalidTokenException")
InvalidTrailName = api_error("InvalidTrailNameException")
MaximumNumberOfTrailsExceeded = api_error("MaximumNumberOfTrailsExceededException")
NotOrganizationMasterAccount = api_error("NotOrganizationMasterAccountException")
OrganizationNotInAllFeaturesMode = api_error("OrganizationNotInAllFeaturesModeException")
OrganizationsNotInUse = api_error("OrganizationsNotInUseException")
ResourceNotFound = api_error("ResourceNotFoundException")
ResourceTypeNotSupported = api_error("ResourceTypeNotSupportedException")
S3BucketDoesNotExist = api_error("S3BucketDoesNotExistException")
TagsLimitExceeded = api_error("TagsLimitExceededException")
TrailAlreadyExists = api_error("TrailAlreadyExistsException")
TrailNotFound = api_error("TrailNotFoundException")
UnsupportedOperation = api_error("UnsupportedOperationException")


# AWS Organizations' modelled exceptions.
AWSOrganizationsNotInUse = organizations_error("AWSOrganizationsNotInUseException")
AccountNotFound = organizations_error("AccountNotFoundException")
AlreadyInOrganization = organizations_error("AlreadyInOrganizationException")
ConcurrentModification = organizations_error("ConcurrentModificationException")
ConstraintViolation = organizations_error("ConstraintViolationException")
CreateAccountStatusNotFound = organizations_error("CreateAccountStatusNotFoundException")
InvalidInput = organizations_error("InvalidInputException")
MasterCannotLeaveOrganization = organizations_error("MasterCannotLeaveOrganizationException")
OrganizationNotEmpty = organizations_error("OrganizationNotEmptyException")
OrganizationsAccessDenied = organizations_error("AccessDeniedException")


class OrganizationsInvalidNextToken(OrganizationsError):
    """InvalidInputException for a NextToken this server did not issue for this listing."""

    code = "InvalidInputException"

    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_NEXT_TOKEN")


# Answered when the server itself failed (a bug): the traceback goes to the server log only.
InternalFailure = api_error("InternalFailure", ApiError)


# -- S3's errors (the path-style S3 subset answers in S3's XML shape) -------------------------------------


class S3Error(ApiError):
    """An S3 error: its code and status are per instance, as S3 has many and they never reach JSON."""

    def __init__(self, code: str, status: int, message: str, **fields: str) -> None:
        super().__init__(message)
        self.s3_code = code
        self.s3_status = status
        self.fields = fields


class ListError(ApiError):
    """A bad listing parameter (S3's InvalidArgument, 400)."""

    code = "InvalidArgument"
    status = 400


# -- storage (local buckets, S3) ---------------------------------------------------------------------------


class StorageError(OpenTrailError):
    """The storage backend failed (unreachable, permission, disk); delivery retries later."""


class InvalidBucketName(StorageError):
    pass


class InvalidKey(StorageError):
    pass


class BucketExists(StorageError):
    pass


class BucketNotEmpty(StorageError):
    """A bucket that still holds objects cannot be deleted."""


class NoSuchBucket(StorageError):
    pass


class NoSuchKey(StorageError):
    pass


class SealFailed(StorageError):
    """Sealed bytes did not open: altered, moved to another key, or sealed under another master key."""


# -- SNS (topics on an SNS-compatible service) -------------------------------------------------------------


class SnsError(OpenTrailError):
    """SNS failed or refused a call. ``code`` is SNS's error code (or what went wrong on the way:
    ``EndpointUnreachable``, ``EndpointTimeout``, ``NoCredentials``); ``retry``: whether a later attempt
    may succeed (unreachable, throttled, 5xx) or not (the topic is gone, access is denied)."""

    def __init__(self, code: str, message: str, retry: bool) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry = retry


# -- clients of the server (the CLI, validate-logs) -------------------------------------------------------


class RemoteError(OpenTrailError):
    """The server answered with an error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ValidationAborted(OpenTrailError):
    """validate-logs cannot go on (the AWS CLI's exit 255): bad arguments, no trail, no keys, a storage
    error."""


# -- CloudWatch Logs (botocore's logs model; InvalidParameterException and ResourceNotFoundException
# are the shared classes above, by the same wire names)
ResourceAlreadyExists = api_error("ResourceAlreadyExistsException")
LimitExceeded = api_error("LimitExceededException")
TooManyTags = api_error("TooManyTagsException")
