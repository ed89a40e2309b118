"""Where a trail delivers: its bucket and prefix, SNS topic, KMS key and CloudWatch Logs log group.

CreateTrail and UpdateTrail accept these in several spellings (a topic name or ARN, a key alias, alias
ARN, key ARN or key id); CloudTrail stores and returns them in one canonical form, which is what these
functions produce. Each raises CloudTrail's named exception for its member, with AWS's own text where it
is known. Two look things up (``check_bucket``, ``check_topic``); ``configuration`` calls them only after
every member's form has passed.
"""

from __future__ import annotations

import re

from opentrail import storage
from opentrail.context import Call
from opentrail.delivery import topics
from opentrail.errors import (
    InsufficientS3BucketPolicy,
    InsufficientSnsTopicPolicy,
    InvalidCloudWatchLogsLogGroupArn,
    InvalidCloudWatchLogsRoleArn,
    InvalidKmsKeyId,
    InvalidS3BucketName,
    InvalidS3Prefix,
    InvalidSnsTopicName,
    S3BucketDoesNotExist,
    SnsError,
)
from opentrail.storage import InvalidBucketName, StorageError

MAX_PREFIX = 200
MAX_TOPIC = 256
# AWS's own text (what CloudTrail answers, and emulators copied): scripts match on it.
TOPIC_REFUSED = "SNS Topic does not exist or the topic policy is incorrect!"
_PARTITION = r"arn:aws(?:-[a-z]+)*"
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOPIC_ARN = re.compile(_PARTITION + r":sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256})")
_KEY_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-f]{32}"
)
_ALIAS = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}")
_KEY_ARN = re.compile(
    _PARTITION + r":kms:[a-z0-9-]+:\d{12}:(key/(?:" + _KEY_ID.pattern + r")|alias/[A-Za-z0-9/_-]{1,250})"
)
_LOG_GROUP_ARN = re.compile(_PARTITION + r":logs:[a-z0-9-]+:\d{12}:log-group:[A-Za-z0-9._/#-]{1,512}(?::\*)?")
_ROLE_ARN = re.compile(_PARTITION + r":iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")


def check_bucket_name(name: str) -> None:
    """The form of an S3 bucket name (checked before anything is looked up)."""
    try:
        storage.check_bucket_name(name)
    except InvalidBucketName as exc:
        raise InvalidS3BucketName(str(exc)) from None


def check_bucket(call: Call, name: str) -> None:
    """The bucket must exist and not belong to another account (its name's form is checked already)."""
    try:
        exists = call.services.storage.bucket_exists(name)
    except StorageError as exc:
        # The bucket store cannot be reached or refuses us: CloudTrail cannot verify the bucket either.
        raise InsufficientS3BucketPolicy(f"Cannot verify access to S3 bucket {name}: {exc}") from None
    if not exists:
        # AWS's text, as moto copied it (moto/cloudtrail/models.py); `opentrail bucket create` is the CLI's
        # remedy, printed by the CLI, not part of the API's answer.
        raise S3BucketDoesNotExist(f"S3 bucket {name} does not exist!")
    owner = call.store.bucket_owner(name)
    # A bucket made outside OpenTrail has no recorded owner; its policy is the operator's business.
    if owner is not None and owner != call.account:
        # AWS's text (awsdocs/aws-cloudtrail-user-guide#24, aws/aws-cdk#11602): another account's bucket
        # is one whose policy does not let CloudTrail deliver for this account.
        raise InsufficientS3BucketPolicy(f"Incorrect S3 bucket policy is detected for bucket: {name}")


def check_prefix(prefix: str) -> None:
    if len(prefix) > MAX_PREFIX:
        raise InvalidS3Prefix(f"S3KeyPrefix must be at most {MAX_PREFIX} characters long, got {len(prefix)}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in prefix):
        raise InvalidS3Prefix(f"S3KeyPrefix {prefix[:80]!r} must not contain control characters")


def sns_topic(value: str, region: str, account: str) -> tuple[str, str]:
    """``(SnsTopicName, SnsTopicARN)`` from a topic name (in the trail's home region) or a topic ARN."""
    if len(value) <= MAX_TOPIC and _TOPIC_NAME.fullmatch(value):
        return value, f"arn:aws:sns:{region}:{account}:{value}"
    match = _TOPIC_ARN.fullmatch(value)
    if match is None:
        raise InvalidSnsTopicName(
            f"SnsTopicName {value[:300]!r} is neither a topic name (1-256 letters, digits, '_' or '-') "
            "nor an SNS topic ARN (arn:aws:sns:region:account:name)"
        )
    return match.group(1), value


def check_topic(call: Call, arn: str, trail_arn: str) -> str:
    """The ARN of the topic ``arn`` names (a webhook topic of the caller's, or a topic on SNS when the
    deployment uses one: ``topics.resolve``). CloudTrail answers InsufficientSnsTopicPolicy when it
    cannot publish to a topic, whether it is missing or its policy does not let CloudTrail in; another
    account's webhook topic is never usable (and not revealed to exist)."""
    try:
        found = topics.resolve(call.store, call.services.sns, arn, call.account, trail_arn)
    except SnsError as exc:
        raise InsufficientSnsTopicPolicy(f"Cannot verify SNS topic {arn[:300]}: {exc}") from None
    if found is None:
        raise InsufficientSnsTopicPolicy(TOPIC_REFUSED)
    return found


def kms_key(value: str, region: str, account: str) -> str:
    """The full ARN of a KMS key or alias given as ``alias/x``, an alias or key ARN, or a key id."""
    if _KEY_ID.fullmatch(value):
        return f"arn:aws:kms:{region}:{account}:key/{value}"
    if _ALIAS.fullmatch(value):
        if value.startswith("alias/aws/"):
            raise InvalidKmsKeyId(
                f"KmsKeyId {value!r} names an AWS managed key; CloudTrail needs a customer managed key"
            )
        return f"arn:aws:kms:{region}:{account}:{value}"
    if _KEY_ARN.fullmatch(value):
        return value
    raise InvalidKmsKeyId(
        f"KmsKeyId {value[:300]!r} is not valid; expected alias/name, an alias ARN, a key ARN "
        "(arn:aws:kms:region:account:key/id) or a key id (a UUID)"
    )


def check_log_group_arn(value: str) -> None:
    if not _LOG_GROUP_ARN.fullmatch(value):
        # AWS's text for a log group ARN it cannot use (cisagov/crossfeed#2197, clouddrove/
        # terraform-aws-cloudtrail#30; older answers said "Check the log group ARN: CloudTrail can't
        # validate it.").
        raise InvalidCloudWatchLogsLogGroupArn("CloudTrail cannot validate the specified log group ARN.")


# CloudTrail's answer when it cannot put events in the log group (AWS SDK issues, e.g. aws/aws-cli#5098,
# aws/aws-cdk#1963): a group that does not exist, or that the role may not write to.
LOG_GROUP_DENIED = "Access denied. Check the permissions for your role."


def check_log_group(call: Call, arn: str) -> None:
    """The log group must be the caller's own and exist (its region is the ARN's, as CloudTrail's)."""
    parts = arn.split(":", 6)
    name = parts[6][:-2] if parts[6].endswith(":*") else parts[6]
    if parts[4] != call.account or call.store.logs.group(parts[4], parts[3], name) is None:
        raise InvalidCloudWatchLogsLogGroupArn(LOG_GROUP_DENIED)


def check_role_arn(value: str) -> None:
    if not _ROLE_ARN.fullmatch(value):
        raise InvalidCloudWatchLogsRoleArn(
            f"CloudWatchLogsRoleArn {value[:300]!r} is not valid; expected arn:aws:iam::account:role/name"
        )
