"""HTML for browsers: the browsable API.

A browser that asks for ``text/html`` gets a self-contained page (inline CSS and JavaScript,
nothing from another host): the site's title and the path as breadcrumbs, the allowed methods,
links to the resources around this one (see `resourcekit.media.links`), the representation as
pretty-printed JSON with URL values as links, a table of a collection's items each linked to its
resource, and forms for the query and for each unsafe method the resource allows (see
`resourcekit.media.forms`). The pages are built by `resourcekit.media.page`, imported at the
first one, so that a site every client asks for JSON does not pay for them at startup.

JSON stays the site's default: a client that accepts anything (``*/*``, no ``Accept``) never gets
HTML. HTML is not a request body format: parsing it is a 415.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from marshmallow import Schema

from . import MediaHandler

if TYPE_CHECKING:
    from ..request import Request
    from .page import Pages

__all__ = ["HTMLHandler"]


@functools.cache
def _pages() -> type[Pages]:
    from .page import Pages

    return Pages


class HTMLHandler(MediaHandler):
    """Renders representations and problems as HTML pages for people using a browser."""

    media_types = ("text/html",)
    problem_type = "text/html"
    charset = "utf-8"
    parses = ()
    """Not a request body format: a ``text/html`` body is 415, and is not listed as accepted."""

    @functools.cached_property
    def response_headers(self) -> tuple[tuple[str, str], ...]:  # type: ignore[override]
        """Sent by the site with every page, problems included: the Content-Security-Policy
        that allows the page's own style and script only (looked up once per handler)."""
        return _pages().response_headers

    def render(self, data: Any, schema: Schema | None, many: bool) -> bytes:
        """The page without a request: the representation, no breadcrumbs, no forms."""
        return _pages().render(data, schema, many)

    def represent(self, request: Request, data: Any, schema: Schema | None, many: bool) -> bytes:
        """The full page. Forms only on ``GET``/``HEAD``: the answer to a ``POST`` a client
        asked as HTML shows what was made, and is no place to edit the collection from."""
        return _pages().represent(request, data, schema, many)

    def render_problem(self, problem: dict[str, Any]) -> bytes:
        return _pages().render_problem(problem)
