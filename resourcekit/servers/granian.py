"""Serving with granian: a Rust HTTP server calling the site through its WSGI interface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError

__all__ = ["serve_granian"]


def serve_granian(
    load: Callable[[], Any],
    target: str,
    *,
    host: str,
    port: int,
    threads: int,
    workers: int,
    reload: bool,
    announce: Callable[[str], None],
    header_seconds: float,
    drain_seconds: float,
    max_header_size: int,
    **options: Any,
) -> None:
    """Serve what ``load()`` returns in each of ``workers`` processes, ``threads`` threads each.

    granian stops on SIGTERM or SIGINT: each worker stops accepting and finishes the requests it
    has (for at most ``drain_seconds``, then it is killed). ``header_seconds`` bounds the time a
    request head may take to arrive; ``max_header_size`` bounds its size (granian's read buffer,
    beyond which it answers 431). ``options`` go to ``granian.Granian``.
    """
    try:
        from granian import Granian
        from granian.constants import Interfaces
        from granian.http import HTTP1Settings
    except ImportError:
        raise ConfigurationError(
            "granian is not installed: pip install 'resourcekit[granian]'"
        ) from None
    if reload:
        _require_watchfiles()
    options.setdefault(
        "http1_settings",
        HTTP1Settings(
            header_read_timeout=int(header_seconds * 1000),
            max_buffer_size=max(max_header_size, 8192),  # hyper's smallest
        ),
    )
    server = Granian(
        target,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        reload=reload,
        workers_kill_timeout=int(drain_seconds),
        **options,
    )
    shown = f"[{host}]" if ":" in host else host
    server.on_startup(lambda: announce(f"serving on http://{shown}:{port}"))
    server.serve(target_loader=load, wrap_loader=False)  # called in each worker


def _require_watchfiles() -> None:
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "granian's --reload needs watchfiles: pip install 'resourcekit[granian]'"
        ) from None
