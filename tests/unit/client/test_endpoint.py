"""Where clients find the server and its S3 API: flag, then OpenTrail's variable, then the AWS ones."""

from __future__ import annotations

import pytest

from opentrail.client.endpoint import DEFAULT_ENDPOINT, resolve_endpoint, resolve_s3_endpoint

VARIABLES = ("OPENTRAIL_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


@pytest.fixture(autouse=True)
def no_endpoint_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_flag_then_opentrails_variable_then_aws_then_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_endpoint(None) == DEFAULT_ENDPOINT == "http://127.0.0.1:8790"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws:1/")
    assert resolve_endpoint(None) == "http://aws:1"
    monkeypatch.setenv("OPENTRAIL_ENDPOINT_URL", "http://ot:2")
    assert resolve_endpoint(None) == "http://ot:2"
    assert resolve_endpoint("http://flag:3/") == "http://flag:3"


def test_s3_goes_where_the_aws_cli_sends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # OPENTRAIL_ENDPOINT_URL is not the AWS CLI's: S3 stays on the server unless an AWS variable says.
    monkeypatch.setenv("OPENTRAIL_ENDPOINT_URL", "http://ot:2")
    assert resolve_s3_endpoint("http://server:8790") == "http://server:8790"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://aws:1")
    assert resolve_s3_endpoint("http://server:8790") == "http://aws:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://moto:5000/")
    assert resolve_s3_endpoint("http://server:8790") == "http://moto:5000"
