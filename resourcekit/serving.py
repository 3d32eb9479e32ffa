"""Serving a WSGI application with waitress, and stopping it without dropping requests.

waitress stops dead on SIGTERM: requests in flight are cut off, and a load balancer sees errors
during every deploy. `serve` stops accepting on SIGTERM (or SIGINT), lets the requests already
received finish and their answers go out, closes idle keep-alive connections, then exits.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

__all__ = ["serve"]

DRAIN_SECONDS = 30.0
"""How long requests in flight may take to finish once a stop is asked for."""


def serve(
    app: Callable,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 4,
    announce: Callable[[str], None] = print,
    **adjustments: Any,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then drain and return.

    Listens on 127.0.0.1 unless told otherwise. ``adjustments`` go to waitress
    (``connection_limit``, ``channel_timeout``...). waitress strips ``Forwarded`` and
    ``X-Forwarded-*`` unless told which proxy to trust; a resourcekit `Site` with
    ``trusted_proxies`` decides that itself, so for it they are passed through.
    """
    if getattr(app, "trusted_proxies", None) is not None:
        adjustments.setdefault("clear_untrusted_proxy_headers", False)
    server = waitress.create_server(
        app, host=host, port=port, threads=threads, ident="resourcekit", **adjustments
    )
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    announce(f"serving on http://{_shown(host)}:{server.effective_port}")
    try:
        while not stop.is_set():
            wasyncore.loop(timeout=0.2, map=_map(server), count=1)
        _drain(server, time.monotonic() + DRAIN_SECONDS)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _map(server: Any) -> dict[int, Any]:
    return server.map if hasattr(server, "map") else server._map


def _drain(server: Any, deadline: float) -> None:
    """Stop listening, finish what was received, close idle connections."""
    socket_map = _map(server)
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.accepting = False
            dispatcher.del_channel()
            dispatcher.socket.close()
    while time.monotonic() < deadline:
        channels = [c for c in socket_map.values() if isinstance(c, HTTPChannel)]
        busy = [c for c in channels if c.requests or c.total_outbufs_len]
        for channel in channels:
            if channel not in busy:
                channel.handle_close()
        if not busy:
            return
        wasyncore.loop(timeout=0.05, map=socket_map, count=1)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
