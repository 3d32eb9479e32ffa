"""Watching requests: what the access log, metrics and tracing share.

An `Observer` is told when a request starts (`Site.__call__`, before anything else runs) and
answers with what to call when its reply is finished (`Site._send`), or None to skip it: one
place in the request path for each end, however many observers a site has. A site without
metrics or tracing has the access log alone, which skips every request while its logger is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .methods import KNOWN_METHODS

if TYPE_CHECKING:
    from .exchange import Exchange
    from .reply import Reply

__all__ = ["UNMATCHED", "Finish", "Observer", "method_label", "route_of"]

Finish = Callable[["Exchange", "Reply", int], None]
"""Called with the request's exchange, its final reply and the body bytes sent."""

UNMATCHED = "<unmatched>"
"""The route label of a request no URI template matched (``404``, ``400`` before routing)."""


class Observer(Protocol):
    def start(self, exchange: Exchange) -> Finish | None:
        """A request begins; what to call once its reply is finished, or None."""
        ...


def route_of(exchange: Exchange) -> str | None:
    """The URI template the request matched, or None: a bounded value whatever the path."""
    route = exchange.request.route
    return route.template if route is not None else None


def method_label(method: str) -> str:
    """The method, or ``_OTHER`` for one this server does not know (a client can send any)."""
    return method if method in KNOWN_METHODS else "_OTHER"
