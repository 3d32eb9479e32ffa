"""The base class users subclass: one method per HTTP method, schemas as class attributes."""

from __future__ import annotations

from typing import ClassVar

from .schemas import SchemaLike

__all__ = ["HANDLER_METHODS", "Resource"]

HANDLER_METHODS = ("get", "post", "put", "patch", "delete")
"""The HTTP methods a resource implements by defining a method of that name in lower case."""


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
    """Loads the query string into ``request.query``."""
