"""OpenTrail's own signed client (``client/remote.py``), in process: against the real app
(``server.app.create_app`` served over loopback by uvicorn in a thread) its signatures are accepted for
each of the three services and its region; against a recording stub, what it sends (target, content type,
credential scope, path) and how it reads the answers that are errors, as botocore reads them (reference
§1.2-§1.5): the code from ``x-amzn-ErrorType`` or the body's ``__type``, else the HTTP status; the message
from ``message``, else ``Message``, else the body. Where credentials come from: the AWS chain, then the
server's credentials file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.credentials import ReadOnlyCredentials

from opentrail.client.remote import Client, resolve_credentials
from opentrail.errors import ConfigError, RemoteError
from opentrail.protocol import CLOUDTRAIL_TARGET_PREFIX, JSON_11_CONTENT_TYPE, ORGANIZATIONS_TARGET_PREFIX
from opentrail.server.app import create_app
from opentrail.settings import Settings
from tests.support.loopback import serve_app
from tests.support.server import free_port, management_record
from tests.support.stub import Stub, serve_stub

ACCOUNT = "123412341234"
KEY = ReadOnlyCredentials("AKIDREMOTECLIENT", "remote-client-secret", None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app, API only, with root credentials of the test's choosing."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("remote"),
        role="api",
        account_id=ACCOUNT,
        root_access_key_id=KEY.access_key,
        root_secret_access_key=KEY.secret_key,
    )
    yield from serve_app(create_app(settings))


@pytest.fixture
def stub() -> Iterator[Stub]:
    yield from serve_stub()


def records(*recs: dict[str, object]) -> bytes:
    return json.dumps({"Records": list(recs)}).encode()


# -- against the real app ----------------------------------------------------------------------------------


def test_its_cloudtrail_calls_are_accepted(server: str) -> None:
    with Client(server, KEY) as client:
        assert client.cloudtrail("DescribeTrails") == {"trailList": []}
        assert client.cloudtrail("ListTrails", {}) == {"Trails": []}


def test_its_organizations_calls_are_accepted_and_their_errors_read(server: str) -> None:
    with Client(server, KEY) as client, pytest.raises(RemoteError) as info:
        client.organizations("DescribeOrganization")
    assert (info.value.status, info.value.code) == (400, "AWSOrganizationsNotInUseException")
    assert info.value.message


def test_its_records_are_ingested_in_the_region_it_signs_for(server: str) -> None:
    record = management_record(ACCOUNT, region="eu-west-1")
    with Client(server, KEY, region="eu-west-1") as west, Client(server, KEY) as east:
        assert west.ingest_records(records(record)) == {"accepted": 1, "failed": []}
        lookup = {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": record["eventID"]}]}
        assert [e["EventId"] for e in west.cloudtrail("LookupEvents", lookup)["Events"]] == [
            record["eventID"]
        ]
        assert east.cloudtrail("LookupEvents", lookup)["Events"] == []


def test_a_rest_json_error_is_read_from_its_header(server: str) -> None:
    """IngestRecords is rest-json: the code is in x-amzn-ErrorType, the body has only the message."""
    with Client(server, KEY) as client, pytest.raises(RemoteError) as info:
        client.ingest_records(records(), account_id="999999999999")
    assert (info.value.status, info.value.code) == (403, "AccessDeniedException")
    assert "999999999999" in info.value.message


def test_a_wrong_secret_is_refused_by_the_server(server: str) -> None:
    wrong = ReadOnlyCredentials(KEY.access_key, "not-the-secret", None)
    with Client(server, wrong) as client, pytest.raises(RemoteError) as info:
        client.cloudtrail("DescribeTrails")
    assert (info.value.status, info.value.code) == (403, "InvalidSignatureException")


# -- what it sends -----------------------------------------------------------------------------------------


def test_json_calls_name_their_operation_and_sign_for_their_service(stub: Stub) -> None:
    with Client(stub.url + "/", KEY, region="ap-south-1") as client:  # a trailing slash is not doubled
        assert client.endpoint == stub.url
        client.cloudtrail("GetTrail", {"Name": "audit"})
        client.organizations("DescribeOrganization")
    trail, organization = stub.requests
    assert (trail.method, trail.path, trail.target) == ("POST", "/", CLOUDTRAIL_TARGET_PREFIX + "GetTrail")
    assert trail.headers["content-type"] == JSON_11_CONTENT_TYPE
    assert json.loads(trail.body) == {"Name": "audit"}
    assert trail.scope[0] == KEY.access_key
    assert trail.scope[2:] == ["ap-south-1", "cloudtrail", "aws4_request"]
    assert organization.target == ORGANIZATIONS_TARGET_PREFIX + "DescribeOrganization"
    assert organization.scope[2:] == ["ap-south-1", "organizations", "aws4_request"]
    assert json.loads(organization.body) == {}  # an operation without input sends {}


def test_native_ingest_is_signed_for_cloudtrail_data(stub: Stub) -> None:
    stub.answer("/IngestRecords?accountId=111122223333", b'{"accepted": 0, "failed": []}')
    body = records()
    with Client(stub.url, KEY) as client:
        client.ingest_records(body, account_id="111122223333")
    sent = stub.requests[0]
    assert sent.path == "/IngestRecords?accountId=111122223333"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == body  # the records as given, not re-encoded
    assert sent.scope[3] == "cloudtrail-data"


def test_a_session_token_is_sent(stub: Stub) -> None:
    with Client(stub.url, ReadOnlyCredentials("ASIATEMP", "secret", "session-token")) as client:
        client.cloudtrail("ListTrails")
    sent = stub.requests[0]
    assert sent.headers["x-amz-security-token"] == "session-token"
    assert "x-amz-security-token" in sent.headers["authorization"]  # signed, not only sent


# -- how it reads the answers ------------------------------------------------------------------------------


def call(stub: Stub) -> RemoteError:
    with Client(stub.url, KEY) as client, pytest.raises(RemoteError) as info:
        client.cloudtrail("GetTrail")
    return info.value


GET_TRAIL = CLOUDTRAIL_TARGET_PREFIX + "GetTrail"


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (
            400,
            b'{"__type": "TrailNotFoundException", "message": "no"}',
            {},
            (400, "TrailNotFoundException", "no"),
        ),
        (400, b'{"__type": "X", "Message": "capitalised"}', {}, (400, "X", "capitalised")),
        (
            403,
            b'{"message": "denied"}',
            {"x-amzn-ErrorType": "AccessDeniedException"},
            (403, "AccessDeniedException", "denied"),
        ),
        (
            400,
            b'{"__type": "FromBody"}',
            {"x-amzn-ErrorType": "FromHeader"},
            (400, "FromHeader", '{"__type": "FromBody"}'),
        ),
        (
            502,
            b"<html>Bad Gateway</html>",
            {"Content-Type": "text/html"},
            (502, "502", "<html>Bad Gateway</html>"),
        ),
        (503, b"", {}, (503, "503", "")),
        (400, b'["not", "an", "object"]', {}, (400, "400", '["not", "an", "object"]')),
        (301, b"{}", {}, (301, "301", "{}")),  # anything from 300 is not an answer
    ],
)
def test_error_answers_become_remote_errors(
    stub: Stub, status: int, body: bytes, headers: dict[str, str], expected: tuple[int, str, str]
) -> None:
    stub.answer(GET_TRAIL, body, status=status, headers=headers)
    error = call(stub)
    assert (error.status, error.code, error.message) == expected


def test_an_empty_answer_is_an_empty_result(stub: Stub) -> None:
    stub.answer(GET_TRAIL, b"")
    with Client(stub.url, KEY) as client:
        assert client.cloudtrail("GetTrail") == {}


def test_nobody_listening_is_a_connection_error_naming_the_endpoint() -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with Client(nowhere, KEY) as client, pytest.raises(RemoteError) as info:
        client.cloudtrail("ListTrails")
    assert (info.value.status, info.value.code) == (0, "ConnectionError")
    assert f"cannot reach {nowhere}" in info.value.message


# -- credentials -------------------------------------------------------------------------------------------


@pytest.fixture
def no_aws_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "OPENTRAIL_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def credentials_file(path: Path, *profiles: tuple[str, str]) -> Path:
    path.write_text(
        "".join(f"[{name}]\naws_access_key_id = {key}\naws_secret_access_key = s\n" for name, key in profiles)
    )
    return path


@pytest.mark.usefixtures("no_aws_configuration")
def test_the_aws_chain_comes_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    credentials_file(tmp_path / "credentials", ("default", "AKIDFROMDATADIR"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    assert resolve_credentials(tmp_path).access_key == "AKIDFROMENV"


@pytest.mark.usefixtures("no_aws_configuration")
def test_a_named_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shared = credentials_file(tmp_path / "shared", ("default", "AKIDDEFAULT"), ("audit", "AKIDAUDIT"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    assert resolve_credentials(None).access_key == "AKIDDEFAULT"
    assert resolve_credentials(None, profile="audit").access_key == "AKIDAUDIT"


@pytest.mark.usefixtures("no_aws_configuration")
def test_then_the_servers_credentials_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    credentials_file(tmp_path / "credentials", ("default", "AKIDFROMDATADIR"))
    assert resolve_credentials(tmp_path).access_key == "AKIDFROMDATADIR"
    monkeypatch.setenv("OPENTRAIL_DATA_DIR", str(tmp_path))  # the data dir the server uses by default
    assert resolve_credentials(None).access_key == "AKIDFROMDATADIR"


@pytest.mark.usefixtures("no_aws_configuration")
def test_no_credentials_anywhere_says_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AWS_SHARED_CREDENTIALS_FILE=<data dir>/credentials"):
        resolve_credentials(tmp_path)


def test_a_key_without_its_secret_is_refused_before_any_call() -> None:
    with pytest.raises(ConfigError, match="both an access key id and a secret access key"):
        Client("http://127.0.0.1:9", ReadOnlyCredentials("AKIDONLY", "", None))
