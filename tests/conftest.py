"""Shared fixtures: a real HTTP server (waitress, granian or gunicorn) on a free loopback port."""

from __future__ import annotations

import contextlib
import importlib.util
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from postgres import Postgres, postgres_cluster

from resourcekit.serving import SERVERS, WaitressServer


def installed(server: str) -> bool:
    return importlib.util.find_spec(server) is not None


def server_params() -> list:
    """One pytest param per server, skipped where the server is not installed."""
    return [
        pytest.param(name, marks=pytest.mark.skipif(not installed(name), reason=f"no {name}"))
        for name in SERVERS
    ]


@contextlib.contextmanager
def served(app: Callable, threads: int = 4, server: str = "waitress") -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port; yields the base URL.

    Forwarding headers reach the app, which (with ``trusted_proxies``) decides whom to believe.
    waitress runs in a thread of this process, configured as ``resourcekit serve`` runs it
    (`resourcekit.serving.WaitressServer`); granian and gunicorn in a forked process running
    `resourcekit.serving.serve`, stopped with SIGTERM.
    """
    if server != "waitress":
        with _forked(app, threads, server) as base_url:
            yield base_url
        return
    httpd = WaitressServer(app, port=0, threads=threads, clear_untrusted_proxy_headers=False)
    stop = threading.Event()
    thread = threading.Thread(target=httpd.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.addresses[0][1]}"
    finally:
        stop.set()
        thread.join(timeout=40)
        httpd.close()


@contextlib.contextmanager
def _forked(app: Callable, threads: int, server: str) -> Iterator[str]:
    from helpers import free_port

    from resourcekit.serving import serve

    port = free_port()
    context = multiprocessing.get_context("fork")  # the app object goes as it is
    process = context.Process(
        target=serve,
        args=(app,),
        kwargs={"server": server, "port": port, "threads": threads, "announce": _quiet},
    )
    process.start()
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
        process.join(timeout=35)
        if process.is_alive():
            process.kill()
            process.join()


def _quiet(line: str) -> None:
    pass


def _wait_for(port: int, process: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.is_alive(), f"the server exited with {process.exitcode}"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port}")


@pytest.fixture
def live_server() -> Iterator[Callable[..., contextlib.AbstractContextManager[str]]]:
    """``with live_server(app) as base_url: ...`` inside a test."""
    yield served


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL cluster for the whole run (skipped where PostgreSQL is missing)."""
    with postgres_cluster() as cluster:
        yield cluster


# -- resourcekit.sql: the stations app of tests/sqlapp.py on each database ----------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    """An empty database of each kind with the tables of tests/sqlapp.py, for test_sql_*.py.

    Imported here, not at the top: the other tests must not load SQLAlchemy.
    """
    from sqlapp import database_at

    with database_at(request.param, request, tmp_path) as database:
        yield database


@pytest.fixture
def client(db: Any) -> Any:
    """The stations site over ``db``, in process (a module's own ``client`` wins)."""
    from sqlapp import make_site

    from resourcekit.testing import Client

    return Client(make_site(db))
