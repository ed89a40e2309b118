"""The PutAuditEvents tests' fixture: a fresh channel of a fresh account on the shared server. This file
only registers fixtures."""

from __future__ import annotations

import pytest

from tests.support.channels import Channel
from tests.support.server import Credentials, Server


@pytest.fixture
def channel(server: Server, account: Credentials) -> Channel:
    return Channel(server, account)
