"""Request IDs: one per request, echoed in ``X-Request-ID`` and carried by its log records.

A client (or the proxy in front) may send ``X-Request-ID``; it is kept when it is 1 to 200 of
``A-Z a-z 0-9 . _ : + = / -``, so it can go into a header and a log line as it is, and any other
value is replaced by a new random id: a header that could forge log lines or split a response
never gets that far. The site sets `current` for the time it answers a request, so every log
record made meanwhile, the application's own included, can name it: add `RequestIdFilter` to a
handler and put ``%(request_id)s`` in its format.
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["HEADER", "RequestIdFilter", "assign", "current"]

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


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute: the current request's, or ``"-"``.

    Attach it to a handler (records of every logger pass through it), then format with
    ``%(request_id)s``. A record that has one already (the access log's) keeps it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current.get() or "-"
        return True
