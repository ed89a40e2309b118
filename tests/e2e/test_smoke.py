"""The server starts on its embedded defaults, authenticates, and audits itself."""

from __future__ import annotations

import json
import urllib.request

from tests.support.server import Server


def test_health_answers_without_credentials(server: Server) -> None:
    with urllib.request.urlopen(f"{server.endpoint}/health", timeout=5) as response:
        assert json.load(response) == {"status": "ok"}


def test_credentials_file_is_private(server: Server) -> None:
    mode = (server.data_dir / "credentials").stat().st_mode & 0o777
    assert mode == 0o600
