"""In-process API calls: the services of a deployment and authenticated calls on them, for tests that
run operations without a server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from opentrail.context import Call, Services
from opentrail.store import AccessKey, Store


@dataclass
class Env:
    services: Services
    accounts: Iterator[int]

    @property
    def store(self) -> Store:
        return self.services.store

    def call(self, account: str, region: str = "us-east-1") -> Call:
        key = AccessKey(
            f"AKIA{account}", "secret", account, "root", f"arn:aws:iam::{account}:root", account, True, 0
        )
        return Call(services=self.services, key=key, region=region, request_id=str(uuid.uuid4()))

    def new_account(self) -> str:
        return str(next(self.accounts))
