"""``opentrail validate-logs`` against the real ``aws cloudtrail validate-logs`` on the same buckets, with
the server on each store backend (SQLite and PostgreSQL).

Digest chains are built in-process with the format modules and a ``Signer`` into the data directory of
a server that has not started yet (keys live in its store, objects in its local bucket store), so the
server then publishes those keys through ListPublicKeys and serves the objects through its S3 API.
Every tampering case runs both validators and compares stdout, stderr and the exit status exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opentrail.clock import FixedClock
from opentrail.delivery.signing import Signer
from opentrail.storage import LocalStorage
from opentrail.store import open_store
from tests.support.chains import ACCOUNT, ARN, END, REGION, START, T0, TRAIL, Builder, Chain, scenarios
from tests.support.server import AWS_CLI, OPENTRAIL, Server, free_port


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def prepared(request: pytest.FixtureRequest) -> Iterator[tuple[Server, dict[str, Chain]]]:
    """The chains, and a server on each store backend publishing their signing key."""
    data_dir = Path(tempfile.mkdtemp(prefix="opentrail-validate-"))
    env = {"OPENTRAIL_ACCOUNT_ID": ACCOUNT}
    url = f"sqlite:///{data_dir / 'opentrail.db'}"
    cluster = None
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        url = env["OPENTRAIL_DATABASE_URL"] = cluster.new_database()
    store = open_store(url)
    try:
        key = Signer.for_data_dir(store, data_dir, FixedClock(T0 - 60)).current_key(ACCOUNT, REGION)
    finally:
        store.close()
    chains = scenarios(Builder(LocalStorage(data_dir / "buckets"), key))
    server = Server(data_dir=data_dir, port=free_port(), env_extra=env)
    try:
        server.start()
        yield server, chains
    finally:
        server.stop()
        if cluster is not None:
            cluster.drop_database(url)
        shutil.rmtree(data_dir, ignore_errors=True)


Run = subprocess.CompletedProcess[str]


def run_all(server: Server, *commands: tuple[str, ...]) -> list[Run]:
    """Run validators side by side (each CLI spends a second or more starting up): ``aws`` argv run as
    the AWS CLI against the server, anything else as ``opentrail``."""
    cli_env = {**server.env(), "OPENTRAIL_ENDPOINT_URL": server.endpoint}
    procs = []
    for argv in commands:
        real = [AWS_CLI, *argv[1:]] if argv[0] == "aws" else [*OPENTRAIL, *argv]
        env = server.aws_env() if argv[0] == "aws" else cli_env
        procs.append(
            subprocess.Popen(real, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        runs.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return runs


def both(server: Server, *args: str) -> tuple[Run, Run]:
    """(AWS CLI, opentrail) for the same validate-logs arguments."""
    aws, ours = run_all(server, ("aws", "cloudtrail", "validate-logs", *args), ("validate-logs", *args))
    return aws, ours


def window(bucket: str) -> list[str]:
    """The arguments of a run over the chains' six hours in ``bucket``."""
    return ["--trail-arn", ARN, "--start-time", START, "--end-time", END, "--s3-bucket", bucket]


def assert_same(aws: subprocess.CompletedProcess[str], ours: subprocess.CompletedProcess[str]) -> None:
    assert (ours.returncode, ours.stdout, ours.stderr) == (aws.returncode, aws.stdout, aws.stderr)


CASES = {
    "valid": (0, []),
    "tampered-log": (1, ["INVALID: hash value doesn't match"]),
    "deleted-log": (1, ["INVALID: not found"]),
    "changed-digest": (1, ["INVALID: invalid format"]),
    "deleted-digest": (1, ["INVALID: not found"]),
    "signature": (1, ["INVALID: signature verification failed"]),
    "moved": (1, ["INVALID: has been moved from its original location"]),
    "restart": (0, ["No log files were delivered by CloudTrail between"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_lines_and_status_as_the_aws_cli(
    prepared: tuple[Server, dict[str, Chain]], case: str
) -> None:
    server, chains = prepared
    args = window(chains[case].bucket)
    verbose = [*args, "--verbose"]
    runs = run_all(
        server,
        ("aws", "cloudtrail", "validate-logs", *args),
        ("validate-logs", *args),
        ("aws", "cloudtrail", "validate-logs", *verbose),
        ("validate-logs", *verbose),
    )
    status, expected = CASES[case]
    for aws, ours in (runs[:2], runs[2:]):
        assert aws.returncode == status, aws.stderr
        for text in expected:
            assert text in aws.stderr
        assert_same(aws, ours)


@pytest.mark.parametrize(
    "args",
    [
        [
            "--start-time",
            "2020-01-01T00:00:00Z",
            "--end-time",
            "2020-01-02T00:00:00Z",
            "--s3-bucket",
            "v-valid",
        ],
        ["--start-time", END, "--end-time", START, "--s3-bucket", "v-valid"],
        ["--start-time", "not a time", "--s3-bucket", "v-valid"],
        ["--start-time", START, "--end-time", END, "--s3-bucket", "no-such-bucket"],
    ],
    ids=["no-digests-in-range", "start-after-end", "bad-time", "no-bucket"],
)
def test_edge_cases_match_the_aws_cli(prepared: tuple[Server, dict[str, Chain]], args: list[str]) -> None:
    server, _ = prepared
    assert_same(*both(server, "--trail-arn", ARN, *args))


def test_a_bad_arn_and_an_unknown_trail_abort_as_in_the_aws_cli(
    prepared: tuple[Server, dict[str, Chain]],
) -> None:
    server, _ = prepared
    commands = []
    for arn in (
        "arn:aws:cloudtrail:us-east-1:1234:trail/x",
        f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/nope",
    ):
        args = ("validate-logs", "--trail-arn", arn, "--start-time", START, "--end-time", END)
        commands += [("aws", "cloudtrail", *args), args]
    runs = run_all(server, *commands)
    for aws, ours in (runs[:2], runs[2:]):
        assert aws.returncode == 255
        assert_same(aws, ours)


def test_the_trail_is_found_by_describe_trails(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    server.client("cloudtrail").create_trail(Name=TRAIL, S3BucketName=chains["valid"].bucket)
    args = ["--trail-arn", ARN, "--start-time", START, "--end-time", END, "--verbose"]
    aws, ours = both(server, *args)
    assert aws.returncode == 0, aws.stderr
    assert_same(aws, ours)


def test_the_local_store_is_read_without_the_s3_api(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    args = window(chains["deleted-log"].bucket)
    storage = f"file://{server.data_dir / 'buckets'}"
    aws, ours = run_all(
        server,
        ("aws", "cloudtrail", "validate-logs", *args),
        ("validate-logs", *args, "--storage-url", storage),
    )
    assert_same(aws, ours)


def test_a_log_file_no_digest_lists_is_invalid(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    args = window(chains["unlisted"].bucket)
    aws, ours = both(server, *args)
    assert aws.returncode == 0  # the AWS CLI never looks at files outside the digests
    assert ours.returncode == 1
    unlisted = [line for line in ours.stderr.splitlines() if line]
    assert len(unlisted) == 1
    assert unlisted[0].startswith("Log file\ts3://v-unlisted/AWSLogs/")
    assert unlisted[0].endswith("\tINVALID: not listed in any digest")
    assert "8/9 log files valid, 1/9 log files INVALID" in ours.stdout


def test_a_wrong_previous_digest_hash_is_invalid(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    chain = chains["prevhash"]
    args = window(chain.bucket)
    aws, ours = both(server, *args)
    assert aws.returncode == 0  # the AWS CLI does not check previousDigestHashValue
    assert ours.returncode == 1
    newer = f"s3://{chain.bucket}/{chain.digests[2]}"
    assert ours.stderr == (
        f"Digest file\ts3://{chain.bucket}/{chain.digests[1]}\tINVALID: "
        f"hash value doesn't match previousDigestHashValue of {newer}\n\n"
    )
    # Its signature held, so its log files were still checked.
    assert "3/4 digest files valid, 1/4 digest files INVALID" in ours.stdout
    assert "8/8 log files valid" in ours.stdout


def test_json_report(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    chain = chains["deleted-log"]
    args = window(chain.bucket)
    ours = server.cli("validate-logs", *args, "--output", "json", check=False)
    assert ours.returncode == 1
    assert ours.stderr == ""
    report = json.loads(ours.stdout)
    assert report["valid"] is False
    assert report["summary"] == {
        "digestFiles": {"valid": 4, "invalid": 0},
        "logFiles": {"valid": 5, "invalid": 1},
    }
    assert report["found"] == {"start": "2024-05-01T00:00:31Z", "end": "2024-05-01T04:00:31Z"}
    missing = [f for f in report["logFiles"] if f["status"] == "INVALID"]
    assert missing == [
        {
            "s3Bucket": chain.bucket,
            "s3Object": chain.logs[3],
            "status": "INVALID",
            "reason": "not found",
            "beyondAwsCli": False,
        }
    ]
    assert [d["s3Object"] for d in report["digests"]] == chain.digests[::-1]
