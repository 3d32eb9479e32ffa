"""Serving with gunicorn: pre-forked worker processes, each answering with a pool of threads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import BadRequest, ConfigurationError

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
            return _BodyErrorsAre400(load())

    Application().run()


class _BodyErrorsAre400:
    """The site, given a ``wsgi.input`` whose malformed chunked framing is a 400 problem.

    gunicorn reads a chunked body as the application asks for it, and raises its own parse
    errors (a chunk size that is no number, a line without its end) from ``wsgi.input``: left
    as they are, the site would answer 500.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        from gunicorn.http.errors import ParseException  # type: ignore[import-untyped]

        self.parse_errors: type[Exception] = ParseException

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_TRANSFER_ENCODING"):
            environ["wsgi.input"] = _Input(environ["wsgi.input"], self.parse_errors)
        return self.app(environ, start_response)


class _Input:
    def __init__(self, stream: Any, parse_errors: type[Exception]) -> None:
        self.stream = stream
        self.parse_errors = parse_errors

    def read(self, size: int | None = None) -> bytes:
        return bytes(self._guarded(self.stream.read, size))

    def readline(self, size: int | None = None) -> bytes:
        return bytes(self._guarded(self.stream.readline, size))

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return list(self._guarded(self.stream.readlines, hint))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    def _guarded(self, read: Any, size: int | None) -> Any:
        try:
            return read(size)
        except self.parse_errors:
            raise BadRequest("the chunked request body is malformed") from None
