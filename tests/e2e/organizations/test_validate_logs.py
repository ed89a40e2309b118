"""``validate-logs --account-id``, with the AWS CLI v1 and ``opentrail``, on a stopped organization
trail: each covered account's digest chain, tampering found in one member's log, and the service-specific
endpoints of the AWS CLI's clients."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
from typing import Any

import pytest

from tests.support.organizations import OrgTrail, logging_organization_trail
from tests.support.server import AWS_CLI, Credentials, Server, iso, wait_for


@pytest.fixture(scope="module")
def stopped(server: Server) -> OrgTrail:
    """An organization trail after more deliveries over several digest periods, then StopLogging and
    each covered account's final digest. A trail of this file's own: stopping the one
    ``test_organization_trails.py`` builds would fail the tests there that expect it logging, whenever
    they ran after this file."""
    org_trail = logging_organization_trail(server)
    org = org_trail.org
    member = org.members[0]
    for _ in range(2):
        org_trail.send(member)
        time.sleep(1.5)
    org_trail.wait_delivered(member, org_trail.events[member.account_id])
    for creds in [org.management, *org.members]:  # a periodic digest each, so the final one chains
        wait_for(
            lambda c=creds: org_trail.keys(org_trail.folder(c.account_id, "CloudTrail-Digest")), "a digest"
        )
    cloudtrail = org.client("cloudtrail")
    cloudtrail.stop_logging(Name="org-trail")
    stop = cloudtrail.get_trail_status(Name="org-trail")["StopLoggingTime"].timestamp()

    def final(creds: Credentials) -> bool:
        keys = org_trail.keys(org_trail.folder(creds.account_id, "CloudTrail-Digest"))
        if not keys:
            return False
        newest = json.loads(gzip.decompress(org_trail.read(keys[-1])))
        return time.time() > stop + 1.5 and newest["digestEndTime"] >= iso(stop)

    for creds in [org.management, *org.members]:
        wait_for(lambda c=creds: final(c), f"{creds.account_id}'s final digest")
    return org_trail


def aws_validate(found: OrgTrail, *extra: str) -> tuple[int, str, str]:
    result = found.server.aws(
        "cloudtrail",
        "validate-logs",
        "--trail-arn",
        found.arn,
        "--start-time",
        found.start,
        "--verbose",
        *extra,
        creds=found.org.management,
    )
    return result.returncode, result.stdout, result.stderr


def opentrail_validate(found: OrgTrail, *extra: str) -> tuple[int, str, str]:
    result = found.server.cli_as(
        found.org.management,
        "validate-logs",
        "--trail-arn",
        found.arn,
        "--start-time",
        found.start,
        "--verbose",
        *extra,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("who", ["member", "management"])
@pytest.mark.parametrize("validate", [aws_validate, opentrail_validate], ids=["aws", "opentrail"])
def test_validate_logs_checks_a_members_chain(stopped: OrgTrail, validate: Any, who: str) -> None:
    member = stopped.org.members[0] if who == "member" else stopped.org.management
    code, out, err = validate(stopped, "--account-id", member.account_id)
    assert code == 0, out + err
    digests = stopped.keys(stopped.folder(member.account_id, "CloudTrail-Digest"))
    logs = stopped.keys(stopped.folder(member.account_id))
    assert len(digests) >= 2
    for key in digests:
        assert f"Digest file\ts3://{stopped.bucket}/{key}\tvalid" in out
    for key in logs:
        assert f"Log file\ts3://{stopped.bucket}/{key}\tvalid" in out
    assert f"{len(logs)}/{len(logs)} log files valid" in out
    assert "INVALID" not in out + err


@pytest.mark.parametrize("validate", [aws_validate, opentrail_validate], ids=["aws", "opentrail"])
def test_validate_logs_needs_the_account_id_of_an_organization_trail(
    stopped: OrgTrail, validate: Any
) -> None:
    code, _, err = validate(stopped)
    assert code == 255
    assert "Missing required parameter for organization trail: '--account-id'" in err


def test_validate_logs_detects_tampering_in_a_members_log(stopped: OrgTrail) -> None:
    member, other = stopped.org.members
    s3 = stopped.org.client("s3")
    key = stopped.keys(stopped.folder(member.account_id))[0]
    original = s3.get_object(Bucket=stopped.bucket, Key=key)["Body"].read()
    records = json.loads(gzip.decompress(original))
    records["Records"][0]["eventName"] = "Innocent"
    s3.put_object(Bucket=stopped.bucket, Key=key, Body=gzip.compress(json.dumps(records).encode(), mtime=0))
    try:
        for validate in (aws_validate, opentrail_validate):
            code, out, err = validate(stopped, "--account-id", member.account_id)
            assert code == 1, out + err
            assert f"Log file\ts3://{stopped.bucket}/{key}\tINVALID: hash value doesn't match" in err
            # Another member's chain is untouched.
            code, out, err = validate(stopped, "--account-id", other.account_id)
            assert code == 0, out + err
    finally:
        s3.put_object(Bucket=stopped.bucket, Key=key, Body=original)


def test_validate_logs_with_a_service_specific_endpoint_for_each_client(stopped: OrgTrail) -> None:
    """Hazard 12: validate-logs' Organizations and S3 clients ignore --endpoint-url; each service's own
    AWS_ENDPOINT_URL_<SERVICE> reaches the server without the global AWS_ENDPOINT_URL."""
    member = stopped.org.members[0]
    env = stopped.server.aws_env(stopped.org.management)
    del env["AWS_ENDPOINT_URL"]
    for service in ("CLOUDTRAIL", "S3", "ORGANIZATIONS"):
        env[f"AWS_ENDPOINT_URL_{service}"] = stopped.server.endpoint
    args = ["--trail-arn", stopped.arn, "--start-time", stopped.start, "--account-id", member.account_id]
    result = subprocess.run(
        [AWS_CLI, "cloudtrail", "validate-logs", *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest files valid" in result.stdout
    assert "INVALID" not in result.stdout + result.stderr
