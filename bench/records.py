"""Realistic records for the benchmarks, from a template modelled on the real records in
``../shared/corpus/invictus-ir-aws-dataset`` (IAM users and assumed roles calling EC2, IAM, SSM, KMS, S3,
Secrets Manager, STS, ...; ~1.2 KB each, as there). Every record is unique (eventID, requestID, eventTime,
user, source IP, resources vary) so the store's dedupe never skips one.
"""

from __future__ import annotations

import bisect
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

# (eventSource, eventName, readOnly, resource type or None, resource pool or None, weight); weights follow
# the corpus' skew (Describe*/Get*/Decrypt dominate, writes are a fifth).
CATALOG: tuple[tuple[str, str, bool, str | None, str | None, float], ...] = (
    ("kms.amazonaws.com", "Decrypt", True, "AWS::KMS::Key", "kms", 178),
    ("ec2.amazonaws.com", "DescribeRouteTables", True, None, None, 163),
    ("iam.amazonaws.com", "GetUser", True, None, None, 130),
    ("ssm.amazonaws.com", "DescribeParameters", True, None, None, 122),
    ("rds.amazonaws.com", "ListTagsForResource", True, None, None, 88),
    ("ssm.amazonaws.com", "GetParameter", True, None, None, 82),
    ("ssm.amazonaws.com", "DeleteParameter", False, None, "ssm", 78),
    ("ssm.amazonaws.com", "PutParameter", False, None, "ssm", 67),
    ("secretsmanager.amazonaws.com", "GetSecretValue", True, None, None, 60),
    ("ec2.amazonaws.com", "DescribeNatGateways", True, None, None, 54),
    ("sts.amazonaws.com", "AssumeRole", False, "AWS::IAM::Role", "role", 49),
    ("ec2.amazonaws.com", "DescribeVpcAttribute", True, None, None, 48),
    ("health.amazonaws.com", "DescribeEventAggregates", True, None, None, 48),
    ("ec2.amazonaws.com", "DescribeVpcs", True, None, None, 43),
    ("s3.amazonaws.com", "GetBucketAcl", True, "AWS::S3::Bucket", "bucket", 42),
    ("kms.amazonaws.com", "Encrypt", True, "AWS::KMS::Key", "kms", 42),
    ("ec2.amazonaws.com", "DescribeAccountAttributes", True, None, None, 41),
    ("ec2.amazonaws.com", "DescribeSubnets", True, None, None, 40),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, "AWS::IAM::Role", "role", 39),
    ("s3.amazonaws.com", "GetBucketPolicy", True, "AWS::S3::Bucket", "bucket", 30),
    ("ec2.amazonaws.com", "DescribeInstances", True, None, None, 28),
    ("iam.amazonaws.com", "GetPolicy", True, None, None, 25),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None, None, 20),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, None, None, 18),
    ("s3.amazonaws.com", "PutBucketPolicy", False, "AWS::S3::Bucket", "bucket", 14),
    ("ec2.amazonaws.com", "RunInstances", False, "AWS::EC2::Instance", "instance", 12),
    ("ec2.amazonaws.com", "TerminateInstances", False, "AWS::EC2::Instance", "instance", 8),
    ("iam.amazonaws.com", "CreateAccessKey", False, "AWS::IAM::User", "user", 6),
    ("iam.amazonaws.com", "AttachRolePolicy", False, "AWS::IAM::Role", "role", 5),
    ("secretsmanager.amazonaws.com", "CreateSecret", False, None, None, 4),
    ("cloudtrail.amazonaws.com", "StopLogging", False, "AWS::CloudTrail::Trail", "trail", 2),
)
_TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.1.2 (+https://www.terraform.io) terraform-provider-aws/4.67.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.261 (go1.19.8; linux; amd64) "
    "HashiCorp-terraform-exec/0.17.3"
)
# Terraform made most calls in the corpus, so its long user agent is the most common here too.
USER_AGENTS = (
    _TERRAFORM,
    _TERRAFORM,
    _TERRAFORM,
    "aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0-1040-aws exe/x86_64.ubuntu.22 prompt/off command/ec2.describe",
    "Boto3/1.28.3 md/Botocore#1.31.3 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.4 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.3",
    "AWS Internal",
    "console.amazonaws.com",
)
TLS = {
    "tlsVersion": "TLSv1.2",
    "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
    "clientProvidedHostHeader": "",
}
POOL_SIZES = {"kms": 60, "ssm": 600, "role": 40, "bucket": 150, "instance": 400, "user": 30, "trail": 5}


def _resource_name(pool: str, index: int, account: str, region: str) -> str:
    if pool == "kms":
        return f"arn:aws:kms:{region}:{account}:key/{uuid.UUID(int=index * 7919 + 1, version=4)}"
    if pool == "ssm":
        return f"arn:aws:ssm:{region}:{account}:parameter/app/service-{index % 40}/credentials-{index}"
    if pool == "role":
        return f"arn:aws:iam::{account}:role/deploy-role-{index}"
    if pool == "bucket":
        return f"arn:aws:s3:::{account}-logs-{index}"
    if pool == "instance":
        return f"arn:aws:ec2:{region}:{account}:instance/i-{index:017x}"
    if pool == "user":
        return f"arn:aws:iam::{account}:user/engineer-{index}"
    return f"arn:aws:cloudtrail:{region}:{account}:trail/trail-{index}"


class RecordFactory:
    """Unique, realistic CloudTrail records as bytes (compact JSON, the way log files hold them).

    ``users`` IAM users and ``roles`` assumed-role sessions per account; names, keys and resources are
    skewed (a few users and resources are very busy, most are quiet), as in real accounts.
    """

    def __init__(self, seed: int, users: int = 25, roles: int = 8) -> None:
        self.rng = random.Random(seed)
        self.users = users
        self.roles = roles
        self._weights = [entry[5] for entry in CATALOG]
        self._catalog_cum = self._cumulative(self._weights)
        self._principal_cum = self._cumulative([1.0 / (i + 1) for i in range(users + roles)])
        self._resource_cum = {
            pool: self._cumulative([1.0 / (i + 1) ** 0.8 for i in range(size)])
            for pool, size in POOL_SIZES.items()
        }
        self._encoder = msgspec.json.Encoder()
        self._identities: dict[tuple[str, int, int], dict[str, Any]] = {}
        self._names: dict[tuple[str, int, str, str], str] = {}
        self._tls: dict[tuple[str, str], dict[str, str]] = {}
        self._last_epoch = -1
        self._last_time = ""

    @staticmethod
    def _cumulative(weights: list[float]) -> list[float]:
        total = 0.0
        out = []
        for weight in weights:
            total += weight
            out.append(total)
        return out

    def _pick(self, cum: list[float]) -> int:
        return bisect.bisect_left(cum, self.rng.random() * cum[-1])

    def _uuid(self) -> str:
        """A random version-4 UUID, formatted without the cost of ``uuid.UUID``."""
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def _time(self, epoch: int) -> str:
        if epoch != self._last_epoch:
            self._last_epoch = epoch
            self._last_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
        return self._last_time

    def _identity(self, account: str, index: int) -> dict[str, Any]:
        variant = 0 if index < self.users else self.rng.getrandbits(2)
        key = (account, index, variant)
        found = self._identities.get(key)
        if found is None:
            found = self._identities[key] = self._make_identity(account, index, variant)
        return found

    def _make_identity(self, account: str, index: int, variant: int) -> dict[str, Any]:
        key_suffix = f"{int(account) % 10**6:06d}{index:04d}".upper()
        if index < self.users:
            name = f"engineer-{index}"
            return {
                "type": "IAMUser",
                "principalId": f"AIDA{key_suffix}EXAMPLE{index:02d}",
                "arn": f"arn:aws:iam::{account}:user/{name}",
                "accountId": account,
                "accessKeyId": f"AKIA{key_suffix}{index % 3:02d}KEY",
                "userName": name,
            }
        role = f"deploy-role-{index - self.users}"
        session = f"session-{index - self.users}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{key_suffix}ROLE:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{key_suffix}{variant:02d}TMP",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{key_suffix}ROLE",
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2023-07-10T11:42:07Z", "mfaAuthenticated": "false"},
            },
        }

    def record(self, account: str, region: str, epoch: int) -> bytes:
        rng = self.rng
        source, name, read_only, rtype, pool, _ = CATALOG[self._pick(self._catalog_cum)]
        identity = self._identity(account, self._pick(self._principal_cum))
        resources: list[dict[str, str]] = []
        params: dict[str, Any]
        if pool is not None:
            name_key = (pool, self._pick(self._resource_cum[pool]), account, region)
            arn = self._names.get(name_key) or self._names.setdefault(name_key, _resource_name(*name_key))
            resource = (
                {"accountId": account, "type": rtype, "ARN": arn}
                if rtype
                else {"accountId": account, "ARN": arn}
            )
            resources.append(resource)
            params = {"resourceArn": arn, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        else:
            vpc = f"vpc-{rng.getrandbits(32):08x}"
            params = {
                "maxResults": 50,
                "filterSet": {"items": [{"name": "vpc-id", "valueSet": {"items": [{"value": vpc}]}}]},
                "includeAllInstances": False,
            }
        bits = rng.getrandbits(16)
        ip = "AWS Internal" if bits < 3277 else f"198.51.{bits >> 9}.{1 + bits % 254}"
        tls = self._tls.get((source, region))
        if tls is None:
            host = source.replace(".amazonaws.com", f".{region}.amazonaws.com")
            tls = self._tls[(source, region)] = dict(TLS, clientProvidedHostHeader=host)
        record: dict[str, Any] = {
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": self._time(epoch),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": USER_AGENTS[(bits >> 3) % len(USER_AGENTS)],
            "requestParameters": params,
            "responseElements": None,
            "requestID": self._uuid(),
            "eventID": self._uuid(),
            "readOnly": read_only,
        }
        if resources:
            record["resources"] = resources
        record.update(
            eventType="AwsApiCall",
            managementEvent=True,
            recipientAccountId=account,
            eventCategory="Management",
            tlsDetails=tls,
        )
        return self._encoder.encode(record)

    def records(self, count: int, account: str, region: str, epoch: int) -> Iterator[bytes]:
        for _ in range(count):
            yield self.record(account, region, epoch)


def records_body(records: Sequence[bytes]) -> bytes:
    """``{"Records": [...]}`` from raw records, byte-for-byte (what a log file holds)."""
    return b'{"Records":[' + b",".join(records) + b"]}"
