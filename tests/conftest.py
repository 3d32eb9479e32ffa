"""Shared fixtures: a real waitress server on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
import waitress


@contextlib.contextmanager
def served(app: Callable, threads: int = 4) -> Iterator[str]:
    """Serve ``app`` with waitress on 127.0.0.1 and a free port; yields the base URL.

    Forwarding headers reach the app, which (with ``trusted_proxies``) decides whom to believe.
    """
    server = waitress.create_server(
        app, host="127.0.0.1", port=0, threads=threads, clear_untrusted_proxy_headers=False
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()  # stop the worker threads, not only the listener
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def live_server() -> Iterator[Callable[..., contextlib.AbstractContextManager[str]]]:
    """``with live_server(app) as base_url: ...`` inside a test."""
    yield served
