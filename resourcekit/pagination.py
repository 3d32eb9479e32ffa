"""Pages of a collection, linked with RFC 8288 ``Link`` headers, by offset or by opaque cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from .reply import Headers
from .request import Request
from .results import Result

__all__ = ["Page"]


class Page(Result):
    """One page of a collection; the items are dumped with ``many=True``.

    By offset: ``Page(items, limit=20, offset=40, total=95)``. ``Link`` carries ``first``,
    ``prev``, ``next`` and ``last`` (``last`` only when ``total`` is known; without it, ``next``
    is offered when the page is full).

    By cursor, for collections that move under the client (new rows would shift offsets):
    ``Page(items, limit=20, next_cursor="opaque", prev_cursor=None)``. ``Link`` carries
    ``first`` (no cursor) and ``next``/``prev`` with ``?cursor=...`` where given. The cursor is
    the handler's own, opaque token: it reads it back from ``request.query``.

    ``limit=0`` is a page of no items, as a client asking ``?limit=0`` for just the ``total``
    expects: ``Link`` then carries only ``first`` (with ``limit=0``), since no step leads to
    another page. A negative ``limit`` or ``offset`` raises ``ValueError``.

    The links keep the request's other query parameters and are absolute, as the client (behind
    any trusted proxy) reached the site.
    """

    def __init__(
        self,
        items: Sequence[Any],
        *,
        limit: int,
        offset: int = 0,
        total: int | None = None,
        next_cursor: str | None = None,
        prev_cursor: str | None = None,
        cursor_param: str = "cursor",
        headers: Headers | None = None,
    ) -> None:
        if limit < 0 or offset < 0:
            raise ValueError(f"a page needs limit >= 0 and offset >= 0, not {limit} and {offset}")
        super().__init__(list(items), headers=headers, many=True)
        self.limit, self.offset, self.total = limit, offset, total
        self.next_cursor, self.prev_cursor = next_cursor, prev_cursor
        self.cursor_param = cursor_param

    @property
    def by_cursor(self) -> bool:
        return self.next_cursor is not None or self.prev_cursor is not None

    def links(self) -> dict[str, dict[str, Any]]:
        """The query parameters of each related page, by link relation."""
        if self.by_cursor:
            rels: dict[str, dict[str, Any]] = {"first": {}}
            if self.limit == 0:  # no step from this page to any other
                return rels
            if self.prev_cursor is not None:
                rels["prev"] = {self.cursor_param: self.prev_cursor}
            if self.next_cursor is not None:
                rels["next"] = {self.cursor_param: self.next_cursor}
            return rels
        return {rel: {"offset": offset} for rel, offset in self._offsets().items()}

    def _offsets(self) -> dict[str, int]:
        limit, offset, total = self.limit, self.offset, self.total
        if limit == 0:  # no step from this page to any other
            return {"first": 0}
        last = max((total - 1) // limit * limit, 0) if total is not None else None
        offsets = {"first": 0}
        if offset > 0:
            previous = max(offset - limit, 0)
            offsets["prev"] = previous if last is None else min(previous, last)
        more = len(self.obj) >= limit if total is None else offset + limit < total
        if more:
            offsets["next"] = offset + limit
        if last is not None:
            offsets["last"] = last
        return offsets

    def headers_for(self, request: Request) -> list[tuple[str, str]]:
        base = request.base_url + quote(request.path_info, safe="/:@!$&'()*+,;=~")
        replaced = ("limit", "offset", self.cursor_param)
        kept = [(k, v) for k, v in request.query_params.items() if k not in replaced]
        links = ", ".join(
            f'<{base}?{urlencode([*kept, ("limit", self.limit), *params.items()])}>; rel="{rel}"'
            for rel, params in self.links().items()
        )
        return [*self.headers, ("Link", links)]
