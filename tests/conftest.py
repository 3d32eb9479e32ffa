"""Shared fixtures: a real waitress server on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
import waitress
from postgres import Postgres, postgres_cluster
from waitress import wasyncore


@contextlib.contextmanager
def served(app: Callable, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` with waitress on 127.0.0.1 and a free port; yields the base URL.

    Forwarding headers reach the app, which (with ``trusted_proxies``) decides whom to believe.
    """
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=threads, clear_untrusted_proxy_headers=False
    )
    stop = threading.Event()

    def loop() -> None:  # waitress's run(), stoppable: closing under select() would fail
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()  # stop the worker threads, not only the listener
        server.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., contextlib.AbstractContextManager[str]]]:
    """``with live_server(app) as base_url: ...`` inside a test."""
    yield served


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A private PostgreSQL cluster for the whole run (skipped where PostgreSQL is missing)."""
    with postgres_cluster() as cluster:
        yield cluster
