"""One request's way through the site: what each step learns that the finishing step needs.

The site makes an `Exchange` for every request and passes it from step to step; nothing is
kept in private attributes of the request. Handlers and hooks see the `Request` only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .endpoint import Endpoint
from .negotiation import Choice
from .reply import Reply
from .request import Request

__all__ = ["After", "Exchange", "Target"]

After = Callable[[Request, Reply], None]
"""An ``after`` hook: runs with the final reply, errors included."""


@dataclass(slots=True, eq=False)
class Exchange:
    """A request with the state the site gathers while answering it."""

    request: Request
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Sent with whatever reply the request ends with, errors included (rate-limit state)."""
    afters: list[After] = field(default_factory=list)
    """The ``after`` hooks whose ``before`` ran, in the order they ran."""
    preflight: bool = False
    """Answered as a CORS preflight, which carries its own CORS headers."""
    passthrough: bool = False
    """The handler answered with a ``webob.Response``: sent as it is, no validators added."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where routing and negotiation sent a request: the handler, its URI fields, and the
    media handler and type that represent its answer."""

    endpoint: Endpoint
    handler: Callable[..., Any]
    params: dict[str, Any]
    choice: Choice
