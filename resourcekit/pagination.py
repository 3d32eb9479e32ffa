"""Pages of a collection, linked with RFC 8288 ``Link`` headers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from .results import Headers, Result

if TYPE_CHECKING:
    from .request import Request

__all__ = ["Page"]


class Page(Result):
    """One page of a collection: ``Page(items, limit=20, offset=40, total=95)``.

    The items are dumped with ``many=True``. ``Link`` carries ``first``, ``prev``, ``next`` and
    ``last`` (``last`` only when ``total`` is known; without it, ``next`` is offered when the page
    is full). The links keep the request's other query parameters.
    """

    def __init__(
        self,
        items: Sequence[Any],
        *,
        limit: int,
        offset: int = 0,
        total: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        if limit < 1 or offset < 0:
            raise ValueError("a page needs limit >= 1 and offset >= 0")
        super().__init__(list(items), headers=headers, many=True)
        self.limit, self.offset, self.total = limit, offset, total

    def offsets(self) -> dict[str, int]:
        """The offset of each related page, by link relation."""
        limit, offset, total = self.limit, self.offset, self.total
        rels = {"first": 0}
        if offset > 0:
            rels["prev"] = max(offset - limit, 0)
        more = len(self.obj) >= limit if total is None else offset + limit < total
        if more:
            rels["next"] = offset + limit
        if total is not None:
            rels["last"] = max((total - 1) // limit * limit, 0)
        return rels

    def headers_for(self, request: Request) -> list[tuple[str, str]]:
        base = request.base_url + quote(request.path_info, safe="/:@!$&'()*+,;=~")
        kept = [(k, v) for k, v in request.GET.items() if k not in ("limit", "offset")]
        links = ", ".join(
            f'<{base}?{urlencode([*kept, ("limit", self.limit), ("offset", offset)])}>; rel="{rel}"'
            for rel, offset in self.offsets().items()
        )
        return [*self.headers, ("Link", links)]
