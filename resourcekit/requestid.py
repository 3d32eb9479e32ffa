"""Request IDs: one per request, echoed in ``X-Request-ID`` and carried by its log records.

A client (or the proxy in front) may send ``X-Request-ID``; it is kept when it is 1 to 200 of
``A-Z a-z 0-9 . _ : + = / -``, so it can go into a header and a log line as it is, and any other
value is replaced by a new random id: a header that could forge log lines or split a response
never gets that far. The site sets `current` for the time it answers a request, and every log
record made meanwhile, by any logger, the application's own included, carries it as its
``request_id`` attribute (``"-"`` outside a request): `install` wraps the logging module's
record factory, the place the standard library gives for an attribute on every record, when
`resourcekit.site` is imported. Put ``%(request_id)s`` in a handler's format.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["HEADER", "RequestIdFilter", "assign", "current", "install"]

HEADER = "X-Request-ID"
"""The request and response header carrying the id."""
_VALID = re.compile(r"[A-Za-z0-9._:+=/-]{1,200}")

current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "resourcekit.request_id", default=None
)
"""The id of the request being answered in this thread (or task); None outside a request."""


def assign(environ: Mapping[str, Any]) -> str:
    """The request's id: the client's ``X-Request-ID`` when valid, else 128 random bits in hex.

    An id correlates records, it guards nothing: `random` draws it (reseeded in every forked
    worker) at a third of the cost of a system call for `secrets`, once per request.
    """
    sent = environ.get("HTTP_X_REQUEST_ID")
    if sent is not None and _VALID.fullmatch(sent):
        return str(sent)
    return _bits(128).to_bytes(16).hex()  # a third of what formatting the int costs


_bits = random.getrandbits


def install() -> None:
    """Make every log record carry ``request_id`` from now on (idempotent).

    The record factory in place (the default, or one the application set before) still makes
    each record; the id is added to what it made. ``request_id`` is then taken: a log call
    passing it in ``extra`` is refused by `logging`, as for any attribute a record has.
    """
    made = logging.getLogRecordFactory()
    if not isinstance(made, _Naming):
        logging.setLogRecordFactory(_Naming(made))


class _Naming:
    """A record factory: the records of ``made``, each with the current request's id."""

    def __init__(self, made: Callable[..., logging.LogRecord]) -> None:
        self.made = made

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.made(*args, **kwargs)
        record.request_id = current.get() or "-"
        return record


class RequestIdFilter(logging.Filter):
    """Gives a record a ``request_id`` attribute where it has none: the current request's, or
    ``"-"``. Every record has one once `resourcekit.site` is imported (`install`); the filter
    is for an application whose logging replaces the record factory afterwards.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get() or "-"
        return True
