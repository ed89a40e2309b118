"""Name the calling thread for the operating system, so ``top -H``, ``ps -L`` and /proc show which of
the server's threads is busy (Python's thread names stay inside Python)."""

from __future__ import annotations

import contextlib
import threading


def name_os_thread(name: str) -> None:
    """Best effort (Linux: the thread's ``comm``, at most 15 bytes); elsewhere nothing happens."""
    with contextlib.suppress(OSError), open(f"/proc/self/task/{threading.get_native_id()}/comm", "w") as comm:
        comm.write(name[:15])
