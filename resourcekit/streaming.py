"""A streamed reply as the server sends it: its bytes counted, the observers told once it ends.

A streamed body (`resourcekit.reply.Chunks`) is made while the server iterates it, after
`Site.__call__` has returned, so what the site does once a reply is sent happens when the
server closes the body (PEP 3333): the observers learn how many bytes went, and the body's
source (a database cursor) is released, whether it was sent whole, abandoned by a client that
went away, or broken by an error; a body read to its end is finished then, without waiting
for ``close()``, which a careless middleware may never call. An error cannot change the status
any more: it is logged, with the request's id, and raised on to the server, which ends the
connection without the body's last chunk, so the client sees the body cut short rather than
complete.
"""

from __future__ import annotations

import logging

from . import requestid
from .exchange import Exchange
from .reply import Chunks, Reply

__all__ = ["Sending"]

logger = logging.getLogger("resourcekit")


class Sending:
    """The WSGI body of a streamed reply."""

    __slots__ = ("_body", "_closed", "_exchange", "_reply", "_sent")

    def __init__(self, body: Chunks, exchange: Exchange, reply: Reply) -> None:
        self._body = body
        self._exchange = exchange
        self._reply = reply
        self._sent = 0
        self._closed = False

    def __iter__(self) -> Sending:
        return self

    def __next__(self) -> bytes:
        try:
            chunk = next(self._body.chunks)
        except StopIteration:
            self.close()  # at once: a middleware that forgets close() holds no cursor
            raise
        except Exception as exc:
            self._failed(exc)
            self.close()
            raise
        self._sent += len(chunk)
        return chunk

    def _failed(self, exc: Exception) -> None:
        self._exchange.failure = exc
        request = self._exchange.request
        current = requestid.current.set(request.id)  # the record names its request
        try:
            logger.error(
                "%s %s: the streamed body failed after %d bytes",
                request.method, request.path, self._sent, exc_info=exc,
            )
        finally:
            requestid.current.reset(current)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._body.close()
        finally:
            self._exchange.finish(self._reply, self._sent)
