"""Serving a WSGI application with waitress, granian or gunicorn, and stopping without
dropping requests.

`serve` is the one entry point; ``server=`` picks the server. waitress (the default, pure
Python, one process) stops dead on SIGTERM: requests in flight are cut off, and a load balancer
sees errors during every deploy. So under waitress `serve` stops accepting on SIGTERM (or
SIGINT), lets the requests already received finish and their answers go out, closes idle
keep-alive connections, then exits. granian and gunicorn (extras of the same names) drain on
SIGTERM themselves, and run several worker processes; see `resourcekit.servers`.
"""

from __future__ import annotations

import functools
import json
import re
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import Error, RequestEntityTooLarge

from . import requestid
from .errors import STATUS_LINES, ConfigurationError, HTTPError
from .negotiation import Negotiator
from .request import too_large
from .versioning import Versions

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["SERVERS", "WaitressServer", "serve"]

SERVERS = ("waitress", "granian", "gunicorn")
"""The servers `serve` can start: waitress is a dependency, the others are extras."""

DRAIN_SECONDS = 30.0
"""How long requests in flight may take to finish once a stop is asked for."""

MAX_REQUEST_HEADER_SIZE = 16 * 1024
"""Bytes of request line and header fields waitress accepts (431 beyond); its default is 256 KiB."""

MAX_LEADING_WHITESPACE = 64
"""Spaces and tabs allowed before a header field's value (400 beyond): waitress's parse of them
takes time quadratic in their number, in its event-loop thread."""

CONNECTION_LIMIT = 1000
"""Open connections waitress accepts before it stops accepting; its default is 100."""

OUTBUF_HIGH_WATERMARK = 1024 * 1024
"""Bytes of a response waitress queues for a connection before the application's thread waits
for the client to take them (its default is 16 MiB): a streamed export to a slow client holds
no more than this in memory."""

CHANNEL_TIMEOUT = 30
"""Seconds an idle connection is kept (waitress's default is 120), checked every
`CLEANUP_INTERVAL` seconds."""

CLEANUP_INTERVAL = 5

HEADER_SECONDS = 10.0
"""Seconds a request's line and header fields may take to arrive, counted from the connection's
opening for its first request and from the first byte for the next ones; the connection is closed
beyond it, however steadily the bytes trickle in."""


def serve(
    app: WSGIApplication | str,
    *,
    server: str = "waitress",
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 4,
    workers: int = 1,
    reload: bool = False,
    announce: Callable[[str], None] = print,
    **options: Any,
) -> None:
    """Serve ``app`` with ``server`` until SIGTERM, then drain and return.

    ``app`` is a WSGI application, or ``"MODULE:ATTR"`` naming a resourcekit `Site`, which each
    worker process then imports itself (needed for ``reload``, and for granian where
    multiprocessing spawns rather than forks, as on macOS and Windows). Listens on 127.0.0.1
    unless told otherwise. ``workers`` processes of ``threads`` threads each (waitress: one
    process only). ``reload`` restarts the workers when a source file changes (granian,
    gunicorn; development only). ``options`` go to the server: waitress adjustments,
    ``granian.Granian`` arguments or gunicorn settings. A server that is not installed is a
    `ConfigurationError` naming the extra.
    """
    if server not in SERVERS:
        raise ConfigurationError(f"unknown server {server!r}: one of {', '.join(SERVERS)}")
    load = functools.partial(_load, app)
    common: dict[str, Any] = {"host": host, "port": port, "threads": threads,
                              "workers": workers, "reload": reload, "announce": announce}
    if server == "granian":
        from .servers.granian import serve_granian

        target = app if isinstance(app, str) else "wsgi-app"  # granian names its processes so
        serve_granian(load, target, **common, header_seconds=HEADER_SECONDS,
                      drain_seconds=DRAIN_SECONDS, max_header_size=MAX_REQUEST_HEADER_SIZE,
                      **options)
    elif server == "gunicorn":
        from .servers.gunicorn import serve_gunicorn

        serve_gunicorn(load, **common, drain_seconds=DRAIN_SECONDS, **options)
    else:
        if workers != 1:
            raise ConfigurationError("waitress runs one process: use granian or gunicorn for "
                                     "several workers")
        if reload:
            raise ConfigurationError("waitress has no reloader: use granian or gunicorn for "
                                     "reload")
        _serve_waitress(load(), host=host, port=port, threads=threads, announce=announce,
                       **options)


def _load(app: WSGIApplication | str) -> WSGIApplication:
    if not isinstance(app, str):
        return app
    from .cli import load_site  # the command line's loader: the same checks and messages

    return load_site(app)


def _serve_waitress(
    app: WSGIApplication,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int = 4,
    announce: Callable[[str], None] = print,
    **adjustments: Any,
) -> None:
    """Serve ``app`` with a `WaitressServer` until SIGTERM or SIGINT, then drain and return."""
    server = WaitressServer(app, host=host, port=port, threads=threads, **adjustments)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    for listen_host, listen_port in server.addresses:
        announce(f"serving on http://{_shown(listen_host)}:{listen_port}")
    try:
        server.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.close()


class WaitressServer:
    """waitress as `serve` runs it, listening once made, serving while `run` runs: what a
    test or a program of one's own embeds (in a thread) to serve exactly as the command does.

    Listens on 127.0.0.1 unless told otherwise (``port=0``: a free one, see `addresses`).
    ``adjustments`` go to waitress (``connection_limit``, ``channel_timeout``...). waitress
    strips ``Forwarded`` and ``X-Forwarded-*`` unless told which proxy to trust; a resourcekit
    `Site` with ``trusted_proxies`` decides that itself, so for it they are passed through.

    Defaults safer than waitress's own, each overridable through ``adjustments``:

    - ``max_request_header_size`` `MAX_REQUEST_HEADER_SIZE` (431 beyond);
    - ``max_request_body_size`` one more than the site's ``max_body_size``: waitress answers 413
      to a larger ``Content-Length`` without reading the body (nor sending ``100 Continue``), and
      stops a chunked body once it is over;
    - ``connection_limit`` `CONNECTION_LIMIT`, polled with ``poll()`` rather than ``select()``
      (which cannot watch more than 1024 sockets); ``channel_timeout`` `CHANNEL_TIMEOUT`;
    - ``outbuf_high_watermark`` `OUTBUF_HIGH_WATERMARK`.

    Always, whatever the adjustments: a connection whose request line and headers are not all in
    within `HEADER_SECONDS` is closed (a client sending a byte a second defeats any inactivity
    timeout); a request line or header field of the shapes on which waitress 3.0.2's parser takes
    quadratic time is answered 400 before waitress parses it (see `_Parser`).
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        threads: int = 4,
        **adjustments: Any,
    ) -> None:
        if getattr(app, "trusted_proxies", None) is not None:
            adjustments.setdefault("clear_untrusted_proxy_headers", False)
        max_body_size = getattr(app, "max_body_size", None)
        if isinstance(max_body_size, int):
            adjustments.setdefault("max_request_body_size", max_body_size + 1)  # 413 at >=
        adjustments.setdefault("max_request_header_size", MAX_REQUEST_HEADER_SIZE)
        adjustments.setdefault("connection_limit", CONNECTION_LIMIT)
        adjustments.setdefault("channel_timeout", CHANNEL_TIMEOUT)
        adjustments.setdefault("outbuf_high_watermark", OUTBUF_HIGH_WATERMARK)
        adjustments.setdefault("cleanup_interval", CLEANUP_INTERVAL)
        self.socket_map: dict[int, Any] = {}  # listeners and connections: dispatchers by fd
        self.server = create_server(
            app,
            map=self.socket_map,
            host=host,
            port=port,
            threads=threads,
            ident="resourcekit",
            **adjustments,
        )
        negotiator = getattr(app, "negotiator", None)  # a Site's: its problems' formats
        versions = getattr(app, "versions", None)  # and its API versions
        parser = type("_Parser", (_Parser,), {
            "negotiator": negotiator if isinstance(negotiator, Negotiator) else None,
            "versions": versions if isinstance(versions, Versions) else None,
        })
        channel = type("_Channel", (_Channel,), {"parser_class": parser})
        for dispatcher in self.socket_map.values():
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.channel_class = channel

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The addresses listened on, as numbers: one per address the host name resolved to."""
        return _listening(self.socket_map)

    def run(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Serve until ``stop`` is set, then stop accepting, let the requests received finish
        (for up to `DRAIN_SECONDS`) and close idle connections."""
        next_sweep = 0.0
        while not stop.is_set():
            wasyncore.loop(timeout=poll_seconds, map=self.socket_map, count=1, use_poll=True)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + 1.0
                _close_late_headers(self.socket_map, now)
        _drain(self.socket_map, time.monotonic() + DRAIN_SECONDS)

    def close(self) -> None:
        """Close the listeners and stop the worker threads (after `run` has returned)."""
        self.server.task_dispatcher.shutdown()
        self.server.close()


_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _listening(socket_map: dict[int, Any]) -> list[tuple[str, int]]:
    """The addresses listened on, as numbers: one per address the host name resolved to."""
    return [
        dispatcher.socket.getsockname()[:2]
        for dispatcher in socket_map.values()
        if isinstance(dispatcher, BaseWSGIServer) and dispatcher.socket is not None
    ]


class _Parser(HTTPRequestParser):
    """waitress's request parser, refusing first what it would parse in quadratic time.

    waitress 3.0.2 matches each header field with ``HEADER_FIELD_RE`` (waitress/rfc7230.py),
    ``name ":" OWS value OWS $`` with both ``OWS`` lazy: for a value of n spaces or tabs, every
    split of them between the two is tried, n²/2 steps (16 KiB of spaces: seconds). Its
    ``first_line_re`` (waitress/parser.py) backtracks as badly over ``a://`` and digits with a
    space after them in the request target. Both run in the event-loop thread, which serves every
    connection. So: a request line must have waitress's shape, ``METHOD SP target [SP
    HTTP/d.d]``, checked by a pattern that cannot backtrack far; a field may not start with more
    than `MAX_LEADING_WHITESPACE` spaces and tabs, nor be folded onto the next line (RFC 9112
    5.2 allows a 400 for obs-fold; waitress joins folded lines, leading whitespace and all).
    A request with both ``Content-Length`` and ``Transfer-Encoding`` is a 400 (RFC 9112 6.1
    allows it): waitress would read the chunked body and keep the connection for the bytes
    after it, which a proxy that believed the ``Content-Length`` counted as this request's body
    (request smuggling; gunicorn refuses it likewise, granian closes the connection).

    It also notes when the request began (for `HEADER_SECONDS`), and never asks for the body of
    a request it refuses: waitress 3.0.2 sends ``100 Continue`` to an ``Expect: 100-continue``
    whose ``Content-Length`` is over the limit, then reads the body after all.
    """

    negotiator: Negotiator | None = None
    """The site's, where the application is one: a problem in the format ``Accept`` asks for."""
    versions: Versions | None = None
    """The site's API versions, where it has them: the problem says which it is answered in."""

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.error is not None:
            self.expect_continue = False
            if not isinstance(self.error, _Problem):
                render = functools.partial(_render, self.negotiator, self.headers.get("ACCEPT"))
                self.error = _Problem(self.error, self.adj.max_request_body_size, render,
                                      self._reply_headers())
        return consumed

    def _reply_headers(self) -> list[tuple[str, str]]:
        """The request id (the client's, where its head was read and names a valid one) and
        the API version headers every reply of the site carries."""
        sent = self.headers.get("X_REQUEST_ID")
        request_id = requestid.assign({"HTTP_X_REQUEST_ID": sent} if sent else {})
        headers = [(requestid.HEADER, request_id)]
        if self.versions is not None:
            given = self.headers.get(self.versions.header.upper().replace("-", "_"))
            headers += self.versions.headers_named(given)
        return headers

    def parse_header(self, header_plus: bytes) -> None:
        first_line, _, fields = header_plus.partition(b"\r\n")
        if not _REQUEST_LINE.fullmatch(first_line.rstrip()):
            raise ParsingError("Start line is invalid")
        if _PADDED_OR_FOLDED_FIELD.search(b"\r\n" + fields):
            raise ParsingError("Header field value padded or folded")
        super().parse_header(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:  # the client's, not yet replaced
            raise ParsingError("Content-Length with Transfer-Encoding")


class _Problem(Error):
    """An error waitress answers before the site runs (413 for a body over the limit, 400 for
    a head it cannot parse, 431), as the problem document the site would send: with the
    ``headers`` of the site's replies (`_Parser._reply_headers`: the request id, the API
    version) and the site's limit rather than waitress's internal one (the limit plus one)."""

    def __init__(
        self,
        error: Error,
        max_body: int,
        render: Callable[[dict[str, Any]], tuple[str, bytes]],
        headers: list[tuple[str, str]],
    ) -> None:
        super().__init__(error.body)
        self.code, self.reason = error.code, error.reason
        self.error = (too_large(max_body - 1) if isinstance(error, RequestEntityTooLarge)
                      else HTTPError(error.code, str(error.body)))  # the site's 413, word for word
        self.render = render
        self.headers = headers

    def to_response(self, ident: str | None = None) -> Any:  # waitress's own type says str
        problem = self.error.to_problem()
        problem["request_id"] = dict(self.headers)[requestid.HEADER]
        content_type, body = self.render(problem)
        headers = [("Content-Type", content_type), ("X-Content-Type-Options", "nosniff"),
                   *self.headers]
        return STATUS_LINES.get(self.code) or f"{self.code} {self.reason}", headers, body


def _render(
    negotiator: Negotiator | None, accept: str | None, problem: dict[str, Any]
) -> tuple[str, bytes]:
    if negotiator is None:
        return "application/problem+json", json.dumps(problem).encode()
    handler, content_type = negotiator.select_problem(accept)
    return content_type, handler.render_problem(problem)


_REQUEST_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^ ]+(?: HTTP/[0-9]\.[0-9])?")
_PADDED_OR_FOLDED_FIELD = re.compile(
    rb"\r\n(?:[ \t]|[^:\r\n]*:[ \t]{%d})" % (MAX_LEADING_WHITESPACE + 1)
)


class _Channel(HTTPChannel):
    parser_class = _Parser

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = self.parser_class(self.adj)  # its time counts from the connect


def _close_late_headers(socket_map: dict[int, Any], now: float) -> None:
    """Close the connections whose request headers have taken more than `HEADER_SECONDS`."""
    for channel in list(socket_map.values()):
        request = getattr(channel, "request", None)
        if (
            isinstance(request, _Parser)
            and not request.headers_finished
            and not channel.requests
            and now - request.started > HEADER_SECONDS
        ):
            channel.handle_close()


def _drain(socket_map: dict[int, Any], deadline: float) -> None:
    """Stop listening, finish what was received, close idle connections."""
    for dispatcher in list(socket_map.values()):
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.accepting = False
            dispatcher.del_channel()
            if dispatcher.socket is not None:
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
