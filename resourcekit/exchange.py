"""One request's way through the site: what each step learns that the finishing step needs.

The site makes an `Exchange` for every request and passes it from step to step; nothing is
kept in private attributes of the request. Handlers and hooks see the `Request` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .endpoint import Endpoint
from .negotiation import Choice
from .reply import Reply
from .request import Request

if TYPE_CHECKING:
    from .observe import Finish

__all__ = ["After", "Exchange", "Target"]

After = Callable[[Request, Reply], None]
"""An ``after`` hook: runs with the final reply, errors included."""


class Exchange:
    """A request with the state the site gathers while answering it.

    A plain class rather than a dataclass: one is made per request, and list literals in
    ``__init__`` cost less than ``default_factory`` calls.
    """

    __slots__ = (
        "afters", "failure", "finishes", "headers", "passthrough", "preflight", "request",
        "started",
    )

    def __init__(self, request: Request) -> None:
        self.request = request
        self.started = time.perf_counter()
        """When the site received the request, for durations."""
        self.finishes: list[Finish] = []
        """What the observers (`resourcekit.observe`) call once the reply is finished."""
        self.failure: Exception | None = None
        """The last exception raised while answering, for tracing a ``5xx``."""
        self.headers: list[tuple[str, str]] = []
        """Sent with whatever reply the request ends with, errors included (rate limits)."""
        self.afters: list[After] = []
        """The ``after`` hooks whose ``before`` ran, in the order they ran."""
        self.preflight = False
        """Answered as a CORS preflight, which carries its own CORS headers."""
        self.passthrough = False
        """The handler answered with a ``webob.Response``: sent as it is, no validators."""

    def finish(self, reply: Reply, sent: int) -> None:
        """Tell the observers the reply is finished, ``sent`` bytes of body gone, last
        started first."""
        for finish in reversed(self.finishes):
            finish(self, reply, sent)


class Target(NamedTuple):
    """Where routing and negotiation sent a request: the handler, its URI fields, the
    media handler and type that represent its answer, and what its strong tags get appended
    for its API version (None at the newest, or where versions change nothing). A tuple: made
    on every request."""

    endpoint: Endpoint
    handler: Callable[..., Any]
    params: dict[str, Any]
    choice: Choice
    version_tag: str | None = None
