"""What a handler may return besides a plain object: a status, headers, or a created resource."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request import Request

__all__ = ["Created", "Result"]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


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
            self.status = status
        if headers is None:
            self.headers: list[tuple[str, str]] = []
        else:
            self.headers = list(headers.items() if isinstance(headers, Mapping) else headers)
        self.many = isinstance(obj, list | tuple) if many is None else many

    def headers_for(self, request: Request) -> list[tuple[str, str]]:
        """The headers to send; subclasses derive some from the request."""
        return self.headers


class Created(Result):
    """201 Created, with ``Location`` naming the new resource (``request.url_for(...)``)."""

    status = 201

    def __init__(self, obj: Any = None, *, location: str, headers: Headers | None = None) -> None:
        super().__init__(obj, headers=headers)
        self.headers.append(("Location", location))
