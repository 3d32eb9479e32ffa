"""What the site sends: a status, a header list and a body, before it goes to the server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import cast

__all__ = ["Headers", "Reply", "header_list"]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Headers as a mapping or as name-value pairs, repeats allowed."""


def header_list(headers: Headers | None) -> list[tuple[str, str]]:
    """``headers`` as the name-value list a reply sends."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(cast("Mapping[str, str]", headers).items())
    return list(headers)


class Reply:
    """A response on its way out. ``after`` hooks receive it and may change any part of it."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {len(self.body)} bytes>"
