"""Serving with gunicorn: pre-forked worker processes, each answering with a pool of threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError

__all__ = ["serve_gunicorn"]


def serve_gunicorn(
    load: Callable[[], Any],
    *,
    host: str,
    port: int,
    threads: int,
    workers: int,
    reload: bool,
    announce: Callable[[str], None],
    drain_seconds: float,
    **settings: Any,
) -> None:
    """Serve what ``load()`` returns in ``workers`` processes of ``threads`` threads each.

    gunicorn stops gracefully on SIGTERM (requests in flight finish, for at most
    ``drain_seconds``) and at once on SIGINT or SIGQUIT, as it documents. It believes no
    forwarding header itself (``forwarded_allow_ips`` empty): a resourcekit `Site` with
    ``trusted_proxies`` decides that. ``settings`` are gunicorn settings (``keepalive``,
    ``limit_request_line``...), which win over these.
    """
    try:
        from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
    except ImportError:
        raise ConfigurationError(
            "gunicorn is not installed: pip install 'resourcekit[gunicorn]'"
        ) from None

    def when_ready(arbiter: Any) -> None:
        for listener in arbiter.LISTENERS:
            listen_host, listen_port = listener.sock.getsockname()[:2]
            shown = f"[{listen_host}]" if ":" in listen_host else listen_host
            announce(f"serving on http://{shown}:{listen_port}")

    chosen = {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "reload": reload,
        "graceful_timeout": int(drain_seconds),
        "forwarded_allow_ips": "",
        "control_socket_disable": True,
        "when_ready": when_ready,
        **settings,
    }

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in chosen.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return load()

    Application().run()
