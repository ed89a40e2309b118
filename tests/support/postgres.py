"""A throwaway PostgreSQL cluster for tests, started from the installed server binaries.

PostgreSQL refuses to run as root, and tests and CI run as root: then ``initdb`` and ``pg_ctl`` run as
the unprivileged user ``nobody`` in a temporary directory it owns; otherwise as the current user. The
cluster listens on 127.0.0.1 on a free port with trust authentication and no fsync (test data only).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg

UNPRIVILEGED = "nobody"  # with its own primary group (nogroup on Debian, nobody elsewhere)


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: PATH, ``pg_config --bindir``, then Debian's layout."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates: list[str] = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


class PostgresCluster:
    def __init__(self, port: int) -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, through "
                "pg_config --bindir or in /usr/lib/postgresql/*/bin: install the postgresql server "
                "package to run the PostgreSQL store tests"
            )
        self.bindir = bindir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="opentrail-pg-"))
        self.data = self.root / "data"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(UNPRIVILEGED)
            self._as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._names = itertools.count()
        self.running = False

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
            check=False,
            **self._as,
        )
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}\n{result.stderr}\n{tail}")

    def start(self, durable: bool = False) -> None:
        """Start the cluster; ``durable`` keeps fsync on (benchmarks), tests run without it."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                *([] if durable else ["-c fsync=off", "-c full_page_writes=off"]),
                "-c max_connections=300",
                "-c shared_buffers=64MB",
            ]
        )
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")
        self.running = True

    def restart(self) -> None:
        """A fast restart (``pg_ctl restart -m fast``): connections are cut, the server comes back on the
        same port and data with the same options."""
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-m", "fast", "-w", "restart")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL. It is a schema of its own in one database, named
        by the URL's ``search_path`` (creating a database takes 0.3 s here, a schema nothing)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url()}?options=-csearch_path%3D{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("%3D", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def stop(self) -> None:
        try:
            if self.running:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self.running = False
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
