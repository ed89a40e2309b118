"""``opentrail validate-logs`` as one command, in process (``validate/command.py``): the AWS CLI's exit
status (0 all valid, 1 anything invalid, 255 aborted with the message on stderr), its time window, the
credentials and region it signs with as botocore finds them, and the API calls it makes, against a
loopback stand-in for the server's JSON API and the chains of ``conftest.py`` read with ``--storage-url``.
tests/e2e/test_validate_logs.py runs the command beside the real AWS CLI against the real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opentrail.delivery.signing import SigningKey
from opentrail.errors import ConfigError, ValidationAborted
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, JSON_11_CONTENT_TYPE, ORGANIZATIONS_TARGET_PREFIX
from opentrail.validate.command import Options, command, execute
from tests.support.chains import ACCOUNT, ARN, END, START, Chains, list_public_keys
from tests.support.server import free_port
from tests.support.stub import Stub, serve_stub

ACCESS_KEY, SECRET = "AKIDVALIDATE", "validate-secret"
DESCRIBE_TRAILS = CLOUDTRAIL_TARGET_PREFIX + "DescribeTrails"
LIST_PUBLIC_KEYS = CLOUDTRAIL_TARGET_PREFIX + "ListPublicKeys"
DESCRIBE_ORGANIZATION = ORGANIZATIONS_TARGET_PREFIX + "DescribeOrganization"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what each test sets: no AWS variables, no config or credentials files, no instance metadata."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "OPENTRAIL_ENDPOINT_URL",
        "OPENTRAIL_DATA_DIR",
        "FORCE_TERMINAL",
        "TTY_COMPATIBLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.fixture
def api(key: SigningKey) -> Iterator[Stub]:
    """The server's JSON API as the command sees it: ListPublicKeys publishes the chains' key."""
    for stub in serve_stub():
        stub.answer(LIST_PUBLIC_KEYS, json.dumps({"PublicKeyList": list_public_keys(key)}).encode())
        yield stub


def options(api: Stub, chains: Chains, **changes: Any) -> Options:
    storage, cases = chains
    arguments: dict[str, Any] = {
        "data_dir": None,
        "trail_arn": ARN,
        "start_time": START,
        "end_time": END,
        "s3_bucket": cases["valid"].bucket,
        "s3_prefix": None,
        "account_id": None,
        "verbose": False,
        "endpoint_url": api.url,
        "region": None,
        "storage_url": f"file://{storage.root}",
        "workers": 2,
        "output": "json",
    }
    return Options(**(arguments | changes))


# -- the exit status ---------------------------------------------------------------------------------------


def test_an_intact_chain_is_0_and_a_tampered_one_1(
    api: Stub, chains: Chains, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cases = chains
    assert command(options(api, chains)) == 0
    report = json.loads(capsys.readouterr().out)  # the JSON report alone, no startup line before it
    assert (report["trailArn"], report["valid"]) == (ARN, True)
    assert command(options(api, chains, s3_bucket=cases["tampered-log"].bucket)) == 1
    assert command(options(api, chains, s3_bucket=cases["signature"].bucket)) == 1


def test_text_output_starts_as_the_aws_clis(
    api: Stub, chains: Chains, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command(options(api, chains, output="text")) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Validating log files for trail {ARN} between 2024-05-01T00:00:00Z and ")


def test_an_aborted_run_exits_255_with_the_message_on_stderr(
    api: Stub, chains: Chains, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = {name: getattr(options(api, chains), name) for name in Options.__slots__}
    with pytest.raises(SystemExit) as info:
        execute({**arguments, "trail_arn": "not-an-arn"})
    assert info.value.code == 255
    assert (
        capsys.readouterr().err == "\nInvalid trail ARN provided: not-an-arn\n"
    )  # as awscli's write_exception
    with pytest.raises(SystemExit) as info:
        execute(arguments)
    assert info.value.code == 0


# -- the window --------------------------------------------------------------------------------------------


def test_a_start_after_the_end_aborts_before_any_call(api: Stub, chains: Chains) -> None:
    with pytest.raises(ValidationAborted) as info:
        command(options(api, chains, start_time=END, end_time=START))
    assert str(info.value) == "Invalid time range specified: start-time must occur before end-time"
    assert api.requests == []
    command(options(api, chains, start_time=START, end_time=START))  # an empty window is a window


def test_without_an_end_the_window_runs_to_now(
    api: Stub, chains: Chains, capsys: pytest.CaptureFixture[str]
) -> None:
    assert command(options(api, chains, end_time=None)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["requested"]["end"] > END  # the same text form: later is greater


# -- what it calls and how it signs ------------------------------------------------------------------------


def test_the_trail_is_found_by_describe_trails(api: Stub, chains: Chains) -> None:
    _, cases = chains
    found = {"trailList": [{"TrailARN": ARN, "S3BucketName": cases["valid"].bucket}]}
    api.answer(DESCRIBE_TRAILS, json.dumps(found).encode())
    assert command(options(api, chains, s3_bucket=None)) == 0
    assert api.targets()[0] == DESCRIBE_TRAILS
    assert LIST_PUBLIC_KEYS in api.targets()
    for sent in api.requests:
        assert (sent.method, sent.path, sent.headers["content-type"]) == ("POST", "/", JSON_11_CONTENT_TYPE)
        assert sent.scope[3] == "cloudtrail"


def test_an_organization_trail_asks_organizations_for_its_id(api: Stub, chains: Chains) -> None:
    _, cases = chains
    trail = {"TrailARN": ARN, "S3BucketName": cases["valid"].bucket, "IsOrganizationTrail": True}
    api.answer(DESCRIBE_TRAILS, json.dumps({"trailList": [trail]}).encode())
    api.answer(DESCRIBE_ORGANIZATION, b'{"Organization": {"Id": "o-abcdefghij"}}')
    command(options(api, chains, s3_bucket=None, account_id=ACCOUNT))
    asked = next(sent for sent in api.requests if sent.target == DESCRIBE_ORGANIZATION)
    assert asked.scope[3] == "organizations"


def test_it_signs_with_the_environments_credentials(
    api: Stub, chains: Chains, monkeypatch: pytest.MonkeyPatch
) -> None:
    command(options(api, chains))
    assert api.requests[0].scope[0] == ACCESS_KEY
    assert "x-amz-security-token" not in api.requests[0].headers
    # botocore reads AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    command(options(api, chains))
    assert api.requests[-1].headers["x-amz-security-token"] == "session-token"
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "security-token")
    command(options(api, chains))
    assert api.requests[-1].headers["x-amz-security-token"] == "security-token"


def test_without_them_the_servers_credentials_file_is_read(
    api: Stub, chains: Chains, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = s\n"
    )
    command(options(api, chains, data_dir=str(data_dir)))
    assert api.requests[0].scope[0] == "AKIDFROMFILE"


def test_half_a_key_pair_is_a_configuration_error(
    api: Stub, chains: Chains, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ConfigError):
        command(options(api, chains))
    assert api.requests == []


@pytest.mark.parametrize(
    ("flag", "variable", "configured", "region"),
    [
        ("eu-west-1", "ap-south-1", "ca-central-1", "eu-west-1"),  # the --region flag first
        (None, "ap-south-1", "ca-central-1", "ap-south-1"),  # then AWS_DEFAULT_REGION
        (None, None, "ca-central-1", "ca-central-1"),  # then the config file's
        (None, None, None, "us-east-1"),
        (None, "", "ca-central-1", "us-east-1"),  # an empty variable is no region, and it is botocore's first
    ],
)
def test_the_signing_region_as_botocore_finds_it(
    api: Stub,
    chains: Chains,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    flag: str | None,
    variable: str | None,
    configured: str | None,
    region: str,
) -> None:
    if variable is not None:
        monkeypatch.setenv("AWS_DEFAULT_REGION", variable)
    if configured is not None:
        config = tmp_path / "config"
        config.write_text(f"[default]\nregion = {configured}\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    command(options(api, chains, region=flag))
    assert {sent.scope[2] for sent in api.requests} == {region}


# -- answers that abort ------------------------------------------------------------------------------------


def test_an_error_answer_aborts_in_botocores_words(api: Stub, chains: Chains) -> None:
    api.answer(DESCRIBE_TRAILS, b'{"__type": "AccessDeniedException", "message": "not yours"}', status=400)
    with pytest.raises(ValidationAborted) as info:
        command(options(api, chains, s3_bucket=None))
    assert str(info.value) == (
        "An error occurred (AccessDeniedException) when calling the DescribeTrails operation: not yours"
    )


def test_an_unreachable_server_aborts_naming_it(api: Stub, chains: Chains) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ValidationAborted) as info:
        command(options(api, chains, s3_bucket=None, endpoint_url=nowhere))
    assert "when calling the DescribeTrails operation" in str(info.value)
    assert nowhere in str(info.value)
