"""The real server process and the helpers tests use to talk to it with real clients."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.config
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()
AWS_CLI = str(Path(sys.executable).parent / "aws")
OPENTRAIL = [sys.executable, "-m", "opentrail"]


T = TypeVar("T")


def wait_for(probe: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Poll ``probe`` every 0.2 s until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def iso(epoch: float) -> str:
    """A CloudTrail eventTime (whole seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def management_record(
    account: str,
    region: str = "us-east-1",
    read_only: bool = False,
    source: str = "ec2.amazonaws.com",
    user: str = "alice",
) -> dict[str, Any]:
    """A unique, current CloudTrail management event of ``account`` in ``region``."""
    return {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "accountId": account, "userName": user},
        "eventTime": iso(time.time()),
        "eventSource": source,
        "eventName": "DescribeInstances" if read_only else "RunInstances",
        "awsRegion": region,
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "test",
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Credentials:
    account_id: str
    access_key_id: str
    secret: str


@dataclass
class Server:
    """A running ``opentrail serve`` in its own data directory."""

    data_dir: Path
    port: int
    env_extra: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    root: Credentials | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OPENTRAIL_"))}
        env.update(
            OPENTRAIL_DATA_DIR=str(self.data_dir),
            OPENTRAIL_PORT=str(self.port),
            OPENTRAIL_LOG_LEVEL="warning",
        )
        env.update(self.env_extra)
        return env

    def start(self, timeout: float = 20.0) -> None:
        with open(self.data_dir / "server.log", "ab") as log:
            self.proc = subprocess.Popen([*OPENTRAIL, "serve"], env=self.env(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"server did not start: {self.log()}")
        if self.root is None:
            self.root = self.read_root()

    def read_root(self) -> Credentials:
        values = {}
        for line in (self.data_dir / "credentials").read_text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                values[k.strip()] = v.strip()
        database = self.env_extra.get("OPENTRAIL_DATABASE_URL", "")
        if database.startswith("postgresql:"):
            import psycopg

            with psycopg.connect(database) as conn:
                found = conn.execute("select value from meta where key='bootstrap_account'").fetchone()
            assert found is not None
            return Credentials(str(found[0]), values["aws_access_key_id"], values["aws_secret_access_key"])
        account = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
                "\"select value from meta where key='bootstrap_account'\").fetchone()[0])",
                str(self.data_dir / "opentrail.db"),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return Credentials(account, values["aws_access_key_id"], values["aws_secret_access_key"])

    def log(self) -> str:
        path = self.data_dir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def cli(
        self, *args: str, check: bool = True, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``opentrail ARGS`` against this server's data directory and endpoint."""
        env = self.env()
        env["OPENTRAIL_ENDPOINT_URL"] = self.endpoint
        result = subprocess.run(
            [*OPENTRAIL, *args], env=env, capture_output=True, text=True, timeout=120, input=input_text
        )
        if check and result.returncode != 0:
            raise AssertionError(f"opentrail {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    def cli_as(
        self, creds: Credentials, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``opentrail ARGS`` as the principal ``creds`` (standard AWS variables), against this
        server; no AWS config file or instance metadata is consulted."""
        env = self.env()
        env.update(
            OPENTRAIL_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=creds.access_key_id,
            AWS_SECRET_ACCESS_KEY=creds.secret,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
        )
        result = subprocess.run([*OPENTRAIL, *args], env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"opentrail {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result

    def new_account(self, name: str = "test") -> Credentials:
        out = self.cli("account", "create", "--name", name).stdout
        values = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
        return Credentials(values["account_id"], values["aws_access_key_id"], values["aws_secret_access_key"])

    def create_bucket(self, name: str, account: Credentials | None = None) -> None:
        args = ["bucket", "create", name]
        if account is not None:
            args[2:2] = ["--account", account.account_id]
        self.cli(*args)

    def client(self, service: str, creds: Credentials | None = None, region: str = "us-east-1") -> Any:
        creds = creds or self.root
        assert creds is not None
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret,
            config=botocore.config.Config(retries={"max_attempts": 1, "mode": "legacy"}),
        )

    def aws_env(self, creds: Credentials | None = None, region: str = "us-east-1") -> dict[str, str]:
        creds = creds or self.root
        assert creds is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=creds.access_key_id,
            AWS_SECRET_ACCESS_KEY=creds.secret,
            AWS_DEFAULT_REGION=region,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_MAX_ATTEMPTS="1",
        )
        return env

    def aws(
        self, *args: str, creds: Credentials | None = None, region: str = "us-east-1"
    ) -> subprocess.CompletedProcess[str]:
        """Run the real AWS CLI v1 against this server (not checked: tests read the exit code)."""
        return subprocess.run(
            [AWS_CLI, *args], env=self.aws_env(creds, region), capture_output=True, text=True, timeout=120
        )


def make_server(env: dict[str, str] | None = None) -> Iterator[Server]:
    tmp = Path(tempfile.mkdtemp(prefix="opentrail-test-"))
    server = Server(data_dir=tmp, port=free_port(), env_extra=env or {})
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def server_on_backend(request: pytest.FixtureRequest, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server on the store backend named by ``request.param``: ``sqlite`` (the default, in its data
    dir) or ``postgres`` (a database of its own in the session's throwaway cluster). For a module's own
    ``server`` fixture, parametrised to run the module's tests on both backends."""
    env = dict(env or {})
    if request.param == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        url = cluster.new_database()
        env["OPENTRAIL_DATABASE_URL"] = url
        try:
            yield from make_server(env)
        finally:
            cluster.drop_database(url)
    else:
        yield from make_server(env)
