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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opentrail.clock import FixedClock, format_time
from opentrail.delivery.digests import ListedLog, PreviousDigest, build_digest, metadata
from opentrail.delivery.layout import digest_key, log_file_key
from opentrail.delivery.logfiles import build_log_file, unique_suffix
from opentrail.delivery.signing import Signer, SigningKey
from opentrail.storage import LocalStorage
from opentrail.store import open_store
from tests.support.server import AWS_CLI, OPENTRAIL, Server, free_port

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "audit"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
T0 = datetime(2024, 5, 1, 0, 0, 31, tzinfo=UTC).timestamp()
HOUR = 3600.0
START, END = "2024-05-01T00:00:00Z", "2024-05-01T06:00:00Z"


@dataclass
class Chain:
    bucket: str
    digests: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)


@dataclass
class Builder:
    storage: LocalStorage
    key: SigningKey

    def log(self, bucket: str, at: float, seed: str, prefix: str | None = None) -> ListedLog:
        record = json.dumps({"eventVersion": "1.08", "eventTime": format_time(at - 30), "eventName": seed})
        log = build_log_file([record.encode()])
        key = log_file_key(prefix, ACCOUNT, REGION, at, unique_suffix(f"{bucket}{seed}".encode()))
        self.storage.put_object(bucket, key, log.data)
        return ListedLog(bucket, key, log.sha256_hex, log.newest_event_time, log.oldest_event_time)

    def chain(
        self,
        bucket: str,
        hours: range,
        empty: tuple[int, ...] = (),
        previous: PreviousDigest | None = None,
        chain: Chain | None = None,
    ) -> tuple[Chain, PreviousDigest | None]:
        """Hourly digests for ``hours`` (offsets from T0), two log files each except ``empty`` ones."""
        chain = chain or Chain(bucket)
        if not self.storage.bucket_exists(bucket):
            self.storage.create_bucket(bucket)
        for hour in hours:
            start, end = T0 + hour * HOUR, T0 + (hour + 1) * HOUR
            logs = (
                []
                if hour in empty
                else [self.log(bucket, start + 600 * (n + 1), f"{hour}-{n}") for n in (0, 1)]
            )
            chain.logs.extend(log.key for log in logs)
            key = digest_key(None, ACCOUNT, REGION, TRAIL, REGION, end)
            digest = build_digest(
                account=ACCOUNT,
                start=start,
                end=end,
                bucket=bucket,
                key=key,
                fingerprint=self.key.public.fingerprint,
                log_files=logs,
                previous=previous,
            )
            signature = self.key.sign(digest.signing_string.encode())
            self.storage.put_object(bucket, key, digest.gz_bytes, metadata(signature))
            chain.digests.append(key)
            previous = digest.link(signature)
        return chain, previous


def _scenarios(builder: Builder) -> dict[str, Chain]:
    storage = builder.storage
    chains: dict[str, Chain] = {}
    for name in ("valid", "tampered-log", "deleted-log", "changed-digest", "deleted-digest", "signature"):
        chains[name], _ = builder.chain(f"v-{name}", range(4), empty=(2,))
    chain = chains["tampered-log"]
    storage.put_object(
        chain.bucket, chain.logs[1], build_log_file([b'{"eventTime":"2024-05-01T00:00:00Z"}']).data
    )
    chain = chains["deleted-log"]
    storage.delete_object(chain.bucket, chain.logs[3])
    chain = chains["changed-digest"]
    info, data = storage.get_object(chain.bucket, chain.digests[1])
    storage.put_object(
        chain.bucket, chain.digests[1], data[:-9] + bytes([data[-9] ^ 1]) + data[-8:], info.metadata
    )
    chain = chains["deleted-digest"]
    storage.delete_object(chain.bucket, chain.digests[1])
    chain = chains["signature"]
    info, data = storage.get_object(chain.bucket, chain.digests[2])
    storage.put_object(chain.bucket, chain.digests[2], data, metadata("ab" * 256))

    # A digest copied to a later name (as if moved): its JSON still names the original key.
    chain, _ = builder.chain("v-moved", range(3))
    info, data = storage.get_object(chain.bucket, chain.digests[-1])
    storage.put_object(
        chain.bucket, digest_key(None, ACCOUNT, REGION, TRAIL, REGION, T0 + 4 * HOUR), data, info.metadata
    )
    chains["moved"] = chain

    # Logging stopped for an hour: the second chain starts afresh (no previous digest).
    chain, _ = builder.chain("v-restart", range(2))
    chains["restart"], _ = builder.chain("v-restart", range(3, 5), chain=chain)

    # Beyond the AWS CLI: a log file no digest lists, and a previousDigestHashValue that is wrong.
    chains["unlisted"], _ = builder.chain("v-unlisted", range(4))
    builder.log("v-unlisted", T0 + HOUR + 1500, "sneaked-in")
    chain, previous = builder.chain("v-prevhash", range(2))
    assert previous is not None
    wrong = PreviousDigest(previous.bucket, previous.key, "0" * 64, previous.signature_hex)
    chains["prevhash"], _ = builder.chain("v-prevhash", range(2, 4), previous=wrong, chain=chain)
    return chains


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
    chains = _scenarios(Builder(LocalStorage(data_dir / "buckets"), key))
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
    args = ["--trail-arn", ARN, "--start-time", START, "--end-time", END, "--s3-bucket", chains[case].bucket]
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
    args = [
        "--trail-arn",
        ARN,
        "--start-time",
        START,
        "--end-time",
        END,
        "--s3-bucket",
        chains["deleted-log"].bucket,
    ]
    storage = f"file://{server.data_dir / 'buckets'}"
    aws, ours = run_all(
        server,
        ("aws", "cloudtrail", "validate-logs", *args),
        ("validate-logs", *args, "--storage-url", storage),
    )
    assert_same(aws, ours)


def test_a_log_file_no_digest_lists_is_invalid(prepared: tuple[Server, dict[str, Chain]]) -> None:
    server, chains = prepared
    args = [
        "--trail-arn",
        ARN,
        "--start-time",
        START,
        "--end-time",
        END,
        "--s3-bucket",
        chains["unlisted"].bucket,
    ]
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
    args = ["--trail-arn", ARN, "--start-time", START, "--end-time", END, "--s3-bucket", chain.bucket]
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
    args = ["--trail-arn", ARN, "--start-time", START, "--end-time", END, "--s3-bucket", chain.bucket]
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
