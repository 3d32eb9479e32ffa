"""What the site sends: a status, a header list and a body, before it goes to the server."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import cast

__all__ = ["Chunks", "Headers", "Reply", "header_list"]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Headers as a mapping or as name-value pairs, repeats allowed."""


def header_list(headers: Headers | None) -> list[tuple[str, str]]:
    """``headers`` as the name-value list a reply sends."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(cast("Mapping[str, str]", headers).items())
    return list(headers)


class Chunks:
    """A body sent as it is made, of a length known only at its end: its chunks, and what
    releases what they are read from (a database cursor) once it is sent or abandoned."""

    __slots__ = ("chunks", "release")

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None] | None = None):
        self.chunks = chunks
        self.release = release

    def close(self) -> None:
        """Called once the server is done with the body (PEP 3333), sent whole or not."""
        try:
            close = getattr(self.chunks, "close", None)
            if close is not None:
                close()
        finally:
            if self.release is not None:
                self.release()


class Reply:
    """A response on its way out. ``after`` hooks receive it and may change any part of it.

    ``stream``, where set, is the body instead of ``body``: sent without ``Content-Length``,
    as the server frames it (chunked on HTTP/1.1)."""

    __slots__ = ("body", "headers", "status", "stream")

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        stream: Chunks | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def __repr__(self) -> str:
        size = "streamed" if self.stream is not None else f"{len(self.body)} bytes"
        return f"<Reply {self.status} {size}>"
