"""Last: nothing the protocol tests sent left a traceback in the server log. The file's name sorts
after every other file of this folder, so pytest runs it after them; a new file here must sort before it."""

from __future__ import annotations

from tests.support.server import Server


def test_server_log_has_no_traceback(server: Server, log_start: int) -> None:
    log = (server.data_dir / "server.log").read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in log, log[-4000:]
    assert server.proc is not None
    assert server.proc.poll() is None, "the server died"
