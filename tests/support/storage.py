"""Bucket stores for the storage tests: the values every test stores with, and S3 as moto's server on
loopback (``moto_endpoint``), emptied between tests."""

from __future__ import annotations

import urllib.request

import boto3

from opentrail.storage.encryption import MasterKey
from opentrail.storage.s3 import S3Storage

# moto accepts any key pair; these keep boto3 away from the machine's own credentials.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The metadata a digest is stored with (its signature): it must come back exactly.
SIGNED = {"signature": "ab12", "signature-algorithm": "SHA256withRSA"}
MASTER = MasterKey(bytes(range(32)))
KMS_KEY = "arn:aws:kms:us-east-1:111122223333:key/0d6f1b8e-2f3a-4c5d-9e7f-8a9b0c1d2e3f"


def fake_session(region: str = "us-east-1") -> boto3.Session:
    return boto3.Session(
        FAKE_CREDENTIALS["aws_access_key_id"],
        FAKE_CREDENTIALS["aws_secret_access_key"],
        region_name=region,
    )


def s3_storage(endpoint: str, region: str = "us-east-1") -> S3Storage:
    """An ``S3Storage`` on ``endpoint`` with the fake credentials, signing for ``region``."""
    return S3Storage(endpoint_url=endpoint, session=fake_session(region))


def reset_moto(endpoint: str) -> None:
    """Empty moto, so every test starts with no buckets, like a fresh tmp_path."""
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset, timeout=10):
        pass
