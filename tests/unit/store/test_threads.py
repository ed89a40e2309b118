"""Naming a thread for the operating system (``store/threads.py``): on Linux a thread's ``comm``, what
``top -H``, ``ps -L`` and /proc show, holds at most 15 bytes; naming one thread leaves Python's name for
it and every other thread's name as they were."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from opentrail.store.threads import name_os_thread

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="threads are named through /proc"
)


def comm(native_id: int) -> str:
    return Path(f"/proc/self/task/{native_id}/comm").read_text().removesuffix("\n")


def in_thread(work: Callable[[], None], name: str = "python-name") -> dict[str, str]:
    """Run ``work`` in a new thread; its OS and Python names once it has run."""
    seen: dict[str, str] = {}

    def run() -> None:
        work()
        seen["os"] = comm(threading.get_native_id())
        seen["python"] = threading.current_thread().name

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    return seen


def test_a_thread_is_named_for_the_operating_system() -> None:
    assert in_thread(lambda: name_os_thread("ot-sqlite-write")) == {
        "os": "ot-sqlite-write",
        "python": "python-name",
    }


def test_a_long_name_is_cut_to_what_linux_keeps() -> None:
    assert in_thread(lambda: name_os_thread("opentrail-history-indexer"))["os"] == "opentrail-histo"


def test_naming_a_thread_names_no_other() -> None:
    before = comm(threading.get_native_id())
    assert in_thread(lambda: name_os_thread("ot-other"))["os"] == "ot-other"
    assert comm(threading.get_native_id()) == before
    assert in_thread(lambda: None)["os"] != "ot-other"
