"""The base class users subclass: one method per HTTP method, schemas as class attributes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .auth import Authenticator, Permission
from .ratelimit import RateLimit
from .request import Request
from .schemas import SchemaLike

if TYPE_CHECKING:
    from .media import MediaHandler

Authentication = Sequence[Authenticator] | Mapping[str, Sequence[Authenticator]]
"""Authenticators for every method, or by method name (``"get"``, ``"*"`` for the others)."""

__all__ = ["Resource"]


class Resource:
    """A resource: subclass it, define ``get``/``post``/``put``/``patch``/``delete``.

    Each is called as ``method(self, request, **uri_fields)`` and returns an object or dict (200),
    a list or tuple (200, dumped with ``many=True``), ``None`` (204), a `resourcekit.Result` such
    as `resourcekit.Created`, or a ``webob.Response`` sent as it is. ``HEAD`` and ``OPTIONS`` come
    for free.

    The site makes one instance per route and shares it between requests and threads: keep
    request state on the request, never on ``self``.
    """

    schema: ClassVar[SchemaLike] = None
    """Loads request bodies and dumps responses, unless one of the three below overrides it."""
    input_schema: ClassVar[SchemaLike] = None
    """Loads request bodies into ``request.validated`` (``partial=True`` for ``PATCH``)."""
    output_schema: ClassVar[SchemaLike] = None
    """Dumps what the handlers return."""
    query_schema: ClassVar[SchemaLike] = None
    """Loads the query string into ``request.query``; on ``QUERY``, the request body."""

    vary: ClassVar[Sequence[str]] = ("Accept",)
    """The request headers a representation depends on, sent as ``Vary`` with it and its 304s.
    ``()`` for a resource that answers the same whatever ``Accept`` says (a fixed document)."""
    media: ClassVar[Sequence[MediaHandler]] = ()
    """Formats this resource answers in besides the site's, which win ties of q-value:
    `resourcekit.sql.Collection` adds its NDJSON and CSV exports. Errors are answered in the
    site's formats."""
    cache_control: ClassVar[str | None] = None
    """``Cache-Control`` for successful ``GET``/``HEAD`` answers, e.g. ``"public, max-age=60"``."""
    require_preconditions: ClassVar[bool] = False
    """True: ``PUT``, ``PATCH`` and ``DELETE`` without ``If-Match`` (or ``If-Unmodified-Since``)
    are refused with 428, so no client can overwrite a change it has not seen."""

    authentication: ClassVar[Authentication | None] = None
    """Who may call: ``[auth.Bearer(verify)]`` for every method, or by method, e.g.
    ``{"get": [], "*": [bearer]}`` for open reads; ``None`` takes the site's setting."""
    permissions: ClassVar[Sequence[Permission]] = ()
    """``(request, resource) -> bool`` checks after authentication; a false one is 403."""
    rate_limit: ClassVar[RateLimit | None] = None
    """A `resourcekit.ratelimit.RateLimit` for this resource; ``None`` takes the site's."""
    idempotent: ClassVar[bool | None] = None
    """True: ``POST`` and ``PATCH`` honour ``Idempotency-Key``; ``None`` takes the site's."""
    hooks: ClassVar[Sequence[Any]] = ()
    """`resourcekit.Hook` objects run around this resource's handlers."""
    documented: ClassVar[bool] = True
    """False keeps the route out of the OpenAPI document."""
    since: ClassVar[str | None] = None
    """The API version the route appeared in (`resourcekit.versioning`): ``404`` for clients
    of older versions, and left out of their OpenAPI documents."""
    deprecated: ClassVar[dt.datetime | None] = None
    """When the route was (or will be) deprecated, an aware datetime: its answers carry
    ``Deprecation`` (RFC 9745), and ``Sunset`` if `sunset` is set."""
    sunset: ClassVar[dt.datetime | None] = None
    """When the route will stop answering (an aware datetime), sent as ``Sunset`` (RFC 8594)
    with a `deprecated` route."""

    def bind(self, fields: Sequence[str]) -> None:
        """Called once for each route the resource is registered at, with the template's field
        names, before the site reads its declarations: prepare what depends on the route here,
        and raise `resourcekit.ConfigurationError` for a declaration that cannot work there."""

    def etag(self, request: Request, **fields: Any) -> str | None:
        """The current entity tag of the resource, or None if it has no current state.

        Override it to make the site answer conditional requests before the handler runs.
        ``"v7"``, ``'"v7"'`` and ``'W/"v7"'`` are all accepted. Raise ``errors.NotFound`` for a
        resource that does not exist. A strong tag names the state; the site makes it specific
        to each media type it renders. Load data through ``request.memo`` so the handler reuses it.
        """
        return None

    def last_modified(self, request: Request, **fields: Any) -> dt.datetime | None:
        """When the resource last changed (an aware datetime), or None. Optional, like `etag`."""
        return None
