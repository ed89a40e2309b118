"""Real clients read the edge's errors: boto3 maps each code to its client error or modelled
exception, and the AWS CLI reports the code and exits 255."""

from __future__ import annotations

import re

import botocore.exceptions
import botocore.session
import pytest

from tests.support.protocol import unserved_operation
from tests.support.server import Credentials, Server


def test_boto3_maps_error_codes_to_client_errors(server: Server, creds: Credentials) -> None:
    wrong = Credentials(creds.account_id, creds.access_key_id, "wrong" + creds.secret[5:])
    unknown = Credentials(creds.account_id, "AKIANOSUCHKEY0000001", creds.secret)
    cases = [
        (server.client("cloudtrail", wrong), "InvalidSignatureException", 403),
        (server.client("cloudtrail", unknown), "UnrecognizedClientException", 403),
    ]
    for client, code, status in cases:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client.describe_trails()
        error = caught.value.response
        assert error["Error"]["Code"] == code
        assert error["ResponseMetadata"]["HTTPStatusCode"] == status
        assert error["ResponseMetadata"]["RequestId"]

    # Modelled names become the client's own exception classes, on both protocols.
    client = server.client("cloudtrail", creds)
    with pytest.raises(client.exceptions.InvalidMaxResultsException):
        client.lookup_events(MaxResults=51)
    data = server.client("cloudtrail-data", creds)
    missing = f"arn:aws:cloudtrail:us-east-1:{creds.account_id}:channel/00000000-0000-0000-0000-000000000000"
    with pytest.raises(data.exceptions.ChannelNotFound):
        data.put_audit_events(channelArn=missing, auditEvents=[{"id": "a", "eventData": "{}"}])

    operation = unserved_operation()
    method = getattr(client, botocore.xform_name(operation))
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        method()
    assert caught.value.response["Error"]["Code"] == "UnknownOperationException"
    assert operation in caught.value.response["Error"]["Message"]


def test_aws_cli_reports_the_error_code_and_exits_255(server: Server, creds: Credentials) -> None:
    wrong = Credentials(creds.account_id, creds.access_key_id, "wrong" + creds.secret[5:])
    result = server.aws("cloudtrail", "describe-trails", creds=wrong)
    assert result.returncode == 255, result
    assert "An error occurred (InvalidSignatureException)" in result.stderr
    assert "Traceback" not in result.stderr

    operation = unserved_operation()
    result = server.aws("cloudtrail", botocore.xform_name(operation, "-"), creds=creds)
    assert result.returncode == 255, result
    assert re.search(
        rf"An error occurred \(UnknownOperationException\) when calling the {operation} ", result.stderr
    )
