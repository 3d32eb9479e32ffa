"""Media handlers: how a representation is parsed from and rendered to one family of media types.

A site holds an ordered list of handlers; the first is its default. Content negotiation picks a
handler by ``Accept`` for the response and by ``Content-Type`` for the request body, among the
handlers that declare they read it (`MediaHandler.parses`). Add a format by subclassing
`MediaHandler` and passing it in ``Site(media=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from marshmallow import Schema

from .. import errors
from ..request import Request

__all__ = ["CHUNK_SIZE", "MediaHandler", "chunked"]

CHUNK_SIZE = 64 * 1024
"""About how many bytes a streamed body is written in: records are small, and a write per
record would cost the server a system call (and a chunk header) each."""


class MediaHandler:
    """Parses and renders one family of media types.

    ``media_types`` lists what the handler speaks, the first being the ``Content-Type`` it sends;
    ``problem_type`` is the media type of its RFC 9457 problem documents (``None``: it renders no
    problems, and errors fall back to the site's default handler).
    """

    media_types: tuple[str, ...] = ()
    problem_type: str | None = None
    charset: str | None = None
    """Sent as the ``charset`` parameter of ``Content-Type``, for formats that define one."""
    parses: tuple[str, ...] | None = None
    """The media types this handler reads as request bodies, where not all that it renders:
    ``()`` for a render-only format. By default (None), all of ``media_types`` when the class
    overrides `parse`, none when it does not. See `readable_types`."""
    response_headers: tuple[tuple[str, str], ...] = ()
    """Headers the site sends with every representation and problem in this format (an HTML
    page's ``Content-Security-Policy``)."""
    streams: bool = False
    """Whether a list in this format is a sequence of records, written as each is made
    (NDJSON, CSV): a `resourcekit.results.Stream` in it is sent as it is read (`stream`)."""

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        """Serialise already-dumped ``data`` (plain dicts, lists, strings, numbers, booleans)."""
        raise NotImplementedError

    def represent(self, request: Request, data: Any, schema: Schema | None, many: bool) -> bytes:
        """What the site calls: `render` by default. A handler that needs the request (its URL,
        the resource's methods and input schema, as an HTML page with forms does) overrides
        this instead."""
        return self.render(data, schema, many)

    def stream(self, records: Iterable[Any], schema: Schema | None) -> Iterator[bytes]:
        """The body of a list of already-dumped ``records``, chunk by chunk, holding no more
        than a chunk in memory; for a handler that `streams`."""
        raise NotImplementedError

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        """Serialise an RFC 9457 problem object."""
        raise NotImplementedError

    def readable_types(self) -> tuple[str, ...]:
        """What the site reads with this handler, and lists in a ``415``: `parses`, resolved."""
        if self.parses is None:
            return self.media_types if type(self).parse is not MediaHandler.parse else ()
        return tuple(self.parses or ())  # a false `parses` reads nothing

    def read(self, request: Request, charset: str | None, schema: Schema | None) -> Any:
        """What the site calls for a request body of this handler's types: `parse` of the whole
        body, read within ``max_body_size``. A handler that reads the body as it arrives (a
        multipart upload, to disk) or needs the request overrides this instead."""
        body = request.read_body()
        if not body:
            raise errors.BadRequest("a request body is required")
        return self.parse(body, charset, schema)

    def parse(self, body: bytes, charset: str | None, schema: Schema | None) -> Any:
        """Parse a request body into plain data for ``schema.load``.

        Raise `resourcekit.errors.BadRequest` for a body that does not parse and
        `resourcekit.errors.UnsupportedMediaType` for a charset the format does not allow.
        """
        raise NotImplementedError


def chunked(pieces: Iterable[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``pieces`` joined into chunks of about ``size`` bytes; the last may be shorter, and an
    empty stream makes no chunk."""
    held: list[bytes] = []
    count = 0
    for piece in pieces:
        held.append(piece)
        count += len(piece)
        if count >= size:
            yield b"".join(held)
            held.clear()
            count = 0
    if held:
        yield b"".join(held)
