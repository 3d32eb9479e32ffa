"""httplint (the checks behind REDbot) over every response a WSGI application gives.

`Linted` wraps an application; each response it answers is linted with the request that asked
for it, and every note at the level BAD is kept, so a test can assert there were none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from httplint import HttpRequestLinter, HttpResponseLinter
from httplint.note import Note, levels


class Linted:
    """A WSGI middleware: ``app`` as it is, with ``problems`` listing the BAD notes it earned."""

    def __init__(self, app: Callable) -> None:
        self.app = app
        self.problems: list[str] = []

    def __getattr__(self, name: str) -> Any:  # the wrapped site's attributes (close, store)
        return getattr(self.app, name)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        answer = self.app(environ, capture)
        try:
            body = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()  # PEP 3333: a streamed body releases its cursor here
        for note in _bad_notes(environ, seen["status"], seen["headers"], body):
            self.problems.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')} "
                                 f"{seen['status']}: {note.summary}")
        return [body]


def _bad_notes(
    environ: dict[str, Any], status: str, headers: list[tuple[str, str]], body: bytes
) -> Iterator[Note]:
    request = HttpRequestLinter()
    query = environ.get("QUERY_STRING")
    target = (environ.get("PATH_INFO") or "/") + (f"?{query}" if query else "")
    request.process_request_topline(
        environ["REQUEST_METHOD"].encode(), f"http://127.0.0.1{target}".encode(), b"HTTP/1.1"
    )
    request.process_headers([
        (key[5:].replace("_", "-").encode(), str(value).encode("latin-1"))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ])
    request.finish_content(True)
    response = HttpResponseLinter(_related=request)
    code, _, phrase = status.partition(" ")
    response.process_response_topline(b"HTTP/1.1", code.encode(), phrase.encode())
    response.is_head_response = environ["REQUEST_METHOD"] == "HEAD"
    response.process_headers([(k.encode(), v.encode("latin-1")) for k, v in headers])
    response.feed_content(body)
    response.finish_content(True)
    yield from _walk(response.notes)


def _walk(notes: Iterable[Note]) -> Iterator[Note]:
    for note in notes:
        if note.level is levels.BAD:
            yield note
        yield from _walk(note.subnotes)
