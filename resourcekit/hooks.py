"""Hooks: code that runs before and after requests, for logging, metrics or transactions.

A hook is an object with a ``before(request)`` method, an ``after(request, reply)`` method, or
both (subclass `Hook` and override what you need). ``Site(hooks=[...])`` hooks wrap every request;
``Resource.hooks`` wrap the requests of that resource. The order is an onion:

1. site hooks' ``before``, in order, before routing (so they see 404s too);
2. resource hooks' ``before``, in order, after routing, negotiation, authentication, rate limits
   and preconditions, right before the handler;
3. the handler;
4. ``after`` of every hook whose ``before`` ran, in reverse order, with the final `Reply`, errors
   included: a hook sees the 422 or 500 the request ended with, and may change its headers.

A ``before`` that raises stops the request there (an `resourcekit.errors.HTTPError` becomes its
problem response); the ``after`` of hooks that ran before it still run. Per-request state goes on
``request.context``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .reply import Reply
from .request import Request

__all__ = ["Hook", "Pair", "resolve"]


class Hook:
    """Base class for hooks; override `before`, `after` or both."""

    def before(self, request: Request) -> None:
        """Runs before the request is handled; raise an HTTPError to answer it yourself."""

    def after(self, request: Request, reply: Reply) -> None:
        """Runs once the reply is final; may change ``reply.status``, ``headers`` or ``body``."""


Pair = tuple[Callable[[Request], None] | None, Callable[[Request, Reply], None] | None]


def resolve(hooks: Sequence[Any]) -> tuple[Pair, ...]:
    """Each hook's ``before`` and ``after`` (None where it has none), resolved once at startup."""
    pairs = []
    for hook in hooks:
        pair = (_defined(hook, "before"), _defined(hook, "after"))
        if pair == (None, None):
            raise TypeError(f"hook {hook!r} has neither before(request) nor after(request, reply)")
        pairs.append(pair)
    return tuple(pairs)


def _defined(hook: Any, name: str) -> Callable[..., None] | None:
    method: Callable[..., None] | None = getattr(hook, name, None)
    if method is None or getattr(type(hook), name, None) is getattr(Hook, name):
        return None
    return method
