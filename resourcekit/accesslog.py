"""The access log: one record per request on logger ``resourcekit.access``, once it is answered.

Each record is logged at ``INFO`` with the message ``GET /items/42 200 153B 1.2ms`` and these
attributes, for a structured formatter: ``method``, ``path`` (percent-encoded as sent, so no
control character reaches a log line; never the query string, which carries tokens as often
as filters), ``route`` (the URI template, None when nothing matched), ``status``,
``duration_ms``, ``bytes`` (of body sent), ``client`` (the address, as trusted proxies give it)
and ``request_id``. No header is logged: no credentials, no cookies.

The logger is off until something enables ``INFO`` on it, and then costs a request nothing but
one level check. ``resourcekit serve --access-log`` calls `to_stdout`: one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

from .observe import Finish, route_of
from .proxies import client_of

if TYPE_CHECKING:
    from .exchange import Exchange
    from .reply import Reply

__all__ = ["FIELDS", "AccessLog", "JSONFormatter", "logger", "to_stdout"]

logger = logging.getLogger("resourcekit.access")
"""Where the records go: enable ``INFO`` on it, or call `to_stdout`."""

FIELDS = ("method", "path", "route", "status", "duration_ms", "bytes", "client", "request_id")
"""The attributes of every access record, in the order `JSONFormatter` writes them."""

_MAX_PATH = 2000
_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar, kept as they are


class AccessLog:
    """The observer writing the records; every site has one."""

    def start(self, exchange: Exchange) -> Finish | None:
        return _record if logger.isEnabledFor(logging.INFO) else None


def _record(exchange: Exchange, reply: Reply, sent: int) -> None:
    request = exchange.request
    environ = request.environ
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), _SAFE,
                 encoding="latin-1")[:_MAX_PATH]  # WSGI gives the bytes as latin-1
    method, status = environ["REQUEST_METHOD"], reply.status
    duration = round((time.perf_counter() - exchange.started) * 1000, 3)
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 0,
                               "%s %s %d %dB %.1fms", (method, path, status, sent, duration),
                               None)
    record.__dict__.update(  # as ``extra=`` would, without its check of each name
        method=method,
        path=path,
        route=route_of(exchange),
        status=status,
        duration_ms=duration,
        bytes=sent,
        client=client_of(environ) or None,
        request_id=request.id,
    )
    logger.handle(record)  # made here: Logger.info would walk the stack for the caller's line


class JSONFormatter(logging.Formatter):
    """An access record as one JSON object: ``time`` (UTC, ISO 8601) then `FIELDS`."""

    def format(self, record: logging.LogRecord) -> str:
        moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line: dict[str, object] = {"time": f"{moment}.{int(record.msecs):03d}Z"}
        line.update({name: getattr(record, name, None) for name in FIELDS})
        return json.dumps(line, ensure_ascii=False)


def to_stdout(stream: IO[str] | None = None) -> logging.Handler:
    """Write the access log as JSON lines to standard output (or ``stream``), and only there."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JSONFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return handler
