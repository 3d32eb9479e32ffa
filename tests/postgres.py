"""A private PostgreSQL cluster for the tests: ``initdb`` and ``pg_ctl`` on 127.0.0.1 and a free
port, as the ``postgres`` user when run as root; skipped, saying why, where PostgreSQL or psycopg
is missing (under CI: failed). The ``postgres`` fixture (tests/conftest.py) starts one per run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from helpers import free_port, unavailable

__all__ = ["Postgres", "postgres_cluster"]


def _postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL server's bin folder, or wherever ``initdb`` is."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if found:
        newest = max(found, key=lambda path: int(re.search(r"/(\d+)/bin/", path).group(1)))
        return Path(newest).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> dict[str, Any]:
    """initdb refuses to run as root: as root, run the server's commands as ``postgres``."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        unavailable("running as root, and there is no postgres user to run PostgreSQL as")
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@dataclasses.dataclass
class Postgres:
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}"')
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """A throwaway cluster on 127.0.0.1 and a free port: trust authentication, no fsync."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        unavailable("psycopg is not installed: pip install -e '.[test]' (psycopg, psycopg-pool)")
    bindir = _postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    owner = _as_postgres()
    base = Path(tempfile.mkdtemp(prefix="resourcekit-pg-"))
    data, log = base / "data", base / "postgres.log"
    env = {**os.environ, "LC_ALL": "C", "HOME": str(base)}
    port = free_port()

    def run(*command: Any, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(c) for c in command], env=env, capture_output=True, text=True,
            timeout=timeout, check=False, **owner,
        )  # fmt: skip

    try:
        if owner:
            os.chown(base, owner["user"], owner["group"])
        done = run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-locale", "--no-sync")
        if done.returncode != 0:
            unavailable(f"initdb failed: {(done.stderr or done.stdout)[-800:]}")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{base}'\nmax_connections = 200\n"
                "fsync = off\nfull_page_writes = off\n"  # a test cluster: no crash safety
            )
        done = run(bindir / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "start")
        if done.returncode != 0:
            tail = log.read_text()[-800:] if log.exists() else done.stderr
            unavailable(f"PostgreSQL did not start: {tail}")
        try:
            yield Postgres(port)
        finally:
            run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "-t", "60", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)
