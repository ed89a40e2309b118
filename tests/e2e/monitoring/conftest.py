"""The CloudWatch tests' fixtures: one server for the folder, and boto3 CloudWatch clients made to speak
each of the model's three protocols (botocore picks JSON 1.0 first; a copy of its own model listing one
protocol only, put first on the loader's search path, makes the same client speak query or rpc-v2-cbor
with botocore's own serializers and parsers). This file only registers fixtures."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.loaders
import botocore.session
import pytest

from tests.support.server import Credentials, Server, server_on_backend

PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor")


@pytest.fixture(scope="package", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The folder's server, on each store backend in turn; its log must show no traceback afterwards
    (a bad request is the protocol's error, never a 500)."""
    running = server_on_backend(request)
    server = next(running)
    yield server
    log = (server.data_dir / "server.log").read_text(errors="replace")
    running.close()
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture(scope="package")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """protocol -> a data path whose cloudwatch model lists that protocol only."""
    loader = botocore.loaders.create_loader()
    version = loader.determine_latest_version("cloudwatch", "service-2")
    source = loader.load_service_model("cloudwatch", "service-2")
    paths = {}
    for protocol in PROTOCOLS:
        root = tmp_path_factory.mktemp(protocol.replace("-", "_"))
        target = root / "cloudwatch" / version
        target.mkdir(parents=True)
        data = dict(source, metadata=dict(source["metadata"], protocol=protocol, protocols=[protocol]))
        with gzip.open(target / "service-2.json.gz", "wt") as out:
            json.dump(data, out)
        paths[protocol] = root
    return paths


@pytest.fixture(scope="package")
def creds(server: Server) -> Credentials:
    return server.new_account("monitoring")


@pytest.fixture(scope="package")
def cloudwatch_for(server: Server, models: dict[str, Path]) -> Callable[..., Any]:
    made: dict[tuple[str, str, str, bool], Any] = {}  # clients are made once (loading a model is slow)

    def make(protocol: str, creds: Credentials, region: str = "us-east-1", validate: bool = True) -> Any:
        """``validate=False``: botocore sends what it is given (the server's own checks answer)."""
        key = (protocol, creds.access_key_id, region, validate)
        if key not in made:
            made[key] = client(protocol, creds, region, validate)
        return made[key]

    def client(protocol: str, creds: Credentials, region: str, validate: bool) -> Any:
        core = botocore.session.get_session()
        core.get_component("data_loader").search_paths.insert(0, str(models[protocol]))
        made_client = boto3.Session(botocore_session=core).client(
            "cloudwatch",
            endpoint_url=server.endpoint,
            region_name=region,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret,
            config=botocore.config.Config(
                retries={"max_attempts": 1, "mode": "legacy"}, parameter_validation=validate
            ),
        )
        assert made_client.meta.service_model.resolved_protocol == protocol
        return made_client

    return make


@pytest.fixture(params=PROTOCOLS)
def cloudwatch(request: pytest.FixtureRequest, cloudwatch_for: Callable[..., Any], creds: Credentials) -> Any:
    """A CloudWatch client speaking each protocol in turn."""
    return cloudwatch_for(request.param, creds)
