"""What a handler may return besides a plain object: a status, headers, or a created resource."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .reply import Headers, header_list
from .request import Request

__all__ = ["Created", "Result", "Stream"]



class Result:
    """A representation with its own status and headers: ``Result(obj, status=202)``.

    ``obj`` is dumped through the resource's output schema like a plain return value, a list or
    tuple with ``many=True``; ``None`` sends no body.
    """

    status = 200

    def __init__(
        self,
        obj: Any = None,
        *,
        status: int | None = None,
        headers: Headers | None = None,
        many: bool | None = None,
    ) -> None:
        self.obj = obj
        if status is not None:
            if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                raise TypeError(f"status must be an int from 100 to 599, not {status!r}")
            self.status = status
        self.headers: list[tuple[str, str]] = header_list(headers)
        self.many = isinstance(obj, list | tuple) if many is None else many

    def headers_for(self, request: Request) -> list[tuple[str, str]]:
        """The headers to send; subclasses derive some from the request."""
        return self.headers


class Created(Result):
    """201 Created, with ``Location`` naming the new resource (``request.url_for(...)``).

    ``location=None`` sends no ``Location``: the new resource is the request's own URL (a
    ``PUT`` that created it). The site adds the new resource's ``ETag`` and ``Last-Modified``
    when ``Location`` names one of its resources that has validators.
    """

    status = 201

    def __init__(
        self, obj: Any = None, *, location: str | None, headers: Headers | None = None
    ) -> None:
        super().__init__(obj, headers=headers)
        if location is not None:
            if not isinstance(location, str):
                raise TypeError(f"location must be a URL string or None, not {location!r}")
            self.headers.append(("Location", location))


class Stream:
    """Every item of a list, each dumped through the output schema as it is sent: in a format
    that streams (`resourcekit.media.MediaHandler.streams`: NDJSON, CSV) the body goes out as
    it is made, in constant memory however long the list; another format gets the items as one
    list. A streamed body has no ``ETag`` of its own, its bytes being unknown until sent.

    ``items`` is iterated once, by the server; its ``close()``, where it has one, is called
    when the body is sent or abandoned, so a database cursor behind it is released either way.
    """

    def __init__(self, items: Iterable[Any], *, headers: Headers | None = None) -> None:
        self.items = items
        self.headers: list[tuple[str, str]] = header_list(headers)

    def close(self) -> None:
        close = getattr(self.items, "close", None)
        if close is not None:
            close()
