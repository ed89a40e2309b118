"""A lean signed HTTP client for OpenTrail's own commands (put-events, lookup-events, organization) and
benchmarks.

boto3 costs about 2 ms a call in Python overhead; this client signs with botocore's SigV4 signer (the
same code boto3 uses) and sends over one keep-alive ``httpx`` connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import msgspec
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials

from opentrail.errors import ConfigError, RemoteError
from opentrail.protocol import (
    CLOUDTRAIL_TARGET_PREFIX,
    CLOUDWATCH_TARGET_PREFIX,
    JSON_10_CONTENT_TYPE,
    JSON_11_CONTENT_TYPE,
    LOGS_TARGET_PREFIX,
    ORGANIZATIONS_TARGET_PREFIX,
)


def resolve_credentials(data_dir: Path | None = None, profile: str | None = None) -> ReadOnlyCredentials:
    """The standard AWS chain (env, profile, ...), else the server's generated credentials file."""
    session = botocore.session.Session(profile=profile)
    creds = session.get_credentials()
    if creds is None:
        path = (data_dir or Path(os.environ.get("OPENTRAIL_DATA_DIR", "./opentrail-data"))) / "credentials"
        if path.is_file():
            session = botocore.session.Session()
            session.set_config_variable("credentials_file", str(path))
            creds = session.get_credentials()
    if creds is None:
        raise ConfigError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or "
            "AWS_SHARED_CREDENTIALS_FILE=<data dir>/credentials"
        )
    frozen: ReadOnlyCredentials = creds.get_frozen_credentials()
    return frozen


class Client:
    """Signs and sends requests to one OpenTrail endpoint."""

    def __init__(
        self,
        endpoint: str,
        credentials: ReadOnlyCredentials,
        region: str = "us-east-1",
        timeout: float = 60.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        if not credentials.access_key or not credentials.secret_key:
            raise ConfigError("credentials need both an access key id and a secret access key")
        self._creds = Credentials(credentials.access_key, credentials.secret_key, credentials.token)
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, service: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        request = AWSRequest(method="POST", url=self.endpoint + path, data=body, headers=headers)
        SigV4Auth(self._creds, service, self.region).add_auth(request)
        prepared = request.prepare()
        try:
            return self._http.post(prepared.url, content=body, headers=dict(prepared.headers.items()))
        except httpx.HTTPError as exc:
            raise RemoteError(0, "ConnectionError", f"cannot reach {self.endpoint}: {exc}") from None

    @staticmethod
    def _raise(response: httpx.Response) -> None:
        code = response.headers.get("x-amzn-ErrorType", "")
        message = response.text
        try:
            payload = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            payload = None
        if isinstance(payload, dict):
            code = code or str(payload.get("__type", ""))
            message = str(payload.get("message") or payload.get("Message") or message)
        raise RemoteError(response.status_code, code or str(response.status_code), message)

    def cloudtrail(self, operation: str, params: dict[str, Any] | None = None) -> Any:
        """Call a CloudTrail JSON 1.1 operation; returns the decoded response."""
        return self._json("cloudtrail", CLOUDTRAIL_TARGET_PREFIX + operation, params)

    def organizations(self, operation: str, params: dict[str, Any] | None = None) -> Any:
        """Call an AWS Organizations JSON 1.1 operation; returns the decoded response."""
        return self._json("organizations", ORGANIZATIONS_TARGET_PREFIX + operation, params)

    def logs(self, operation: str, params: dict[str, Any] | None = None) -> Any:
        """Call a CloudWatch Logs JSON 1.1 operation; returns the decoded response."""
        return self._json("logs", LOGS_TARGET_PREFIX + operation, params)

    def cloudwatch(self, operation: str, params: dict[str, Any] | None = None) -> Any:
        """Call a CloudWatch operation in its JSON 1.0 protocol; returns the decoded response."""
        return self._json("monitoring", CLOUDWATCH_TARGET_PREFIX + operation, params, JSON_10_CONTENT_TYPE)

    def _json(
        self,
        service: str,
        target: str,
        params: dict[str, Any] | None,
        content_type: str = JSON_11_CONTENT_TYPE,
    ) -> Any:
        response = self._send(
            service,
            "/",
            msgspec.json.encode(params or {}),
            {"Content-Type": content_type, "X-Amz-Target": target},
        )
        if response.status_code >= 300:
            self._raise(response)
        return msgspec.json.decode(response.content) if response.content else {}

    def ingest_records(self, body: bytes, account_id: str | None = None) -> Any:
        """Send ``{"Records": [...]}`` bytes to the native batch endpoint."""
        path = "/IngestRecords" + (f"?accountId={account_id}" if account_id else "")
        response = self._send("cloudtrail-data", path, body, {"Content-Type": "application/json"})
        if response.status_code >= 300:
            self._raise(response)
        return msgspec.json.decode(response.content)
