"""Links a person can follow from a page, found in the site's routes rather than declared.

A template says where its resource sits: ``/stations/{station_id}/observations`` extends
``/stations/{station_id}`` segment by segment, so it is a sub-resource built from the same field
values. From the route of the current request and its field values:

- ``up`` (``collection`` when the current template is that route plus one field): the nearest
  route whose template the current one extends; an observation's list, a station's collection.
- ``related``: the nearest routes extending the current template with no new field; a station's
  observations and weather.
- ``item``: on a collection, the route of its template plus one field, filled from each item's
  key of that name, or from its ``id`` for a field named ``id``, ``…_id`` or ``…Id``.

Only routes with a ``GET`` handler are linked: following a link is a ``GET``. Links are paths
below ``SCRIPT_NAME``, like the breadcrumbs, so the page never points at another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..request import Request
    from ..routing import Route

__all__ = ["Link", "RouteLinks"]


@dataclass(frozen=True)
class Link:
    """One link of a page: its relation (``up``, ``collection``, ``related``) and its path."""

    rel: str
    href: str


class RouteLinks:
    """The links around the route a request matched."""

    def __init__(self, base: str, route: Route[Endpoint], params: dict[str, Any],
                 routes: list[Route[Endpoint]]) -> None:
        self._base = base
        self._route = route
        self._params = params
        self._routes = [r for r in routes if "GET" in r.target.handlers and r is not route]
        self._items = [r for r in self._routes if _adds_one_field(r, route)]

    @classmethod
    def of(cls, request: Request) -> RouteLinks | None:
        """The links for ``request``'s route; None when it matched none (a problem page)."""
        route = request.route
        if route is None:
            return None
        base = quote(request.script_name, safe="/")
        return cls(base, route, dict(request.path_params), request.site.routes)

    def around(self) -> list[Link]:
        """``up`` (or ``collection``), then the ``related`` sub-resources, by template."""
        links = []
        above = [r for r in self._routes if _extends(self._route, r)]
        if above:
            up = max(above, key=lambda r: len(r.segments))
            rel = "collection" if _adds_one_field(self._route, up) else "up"
            links.append(Link(rel, self._href(up, self._params)))
        same = [r for r in self._routes
                if _extends(r, self._route) and r.fields == self._route.fields]
        nearest = [r for r in same if not any(_extends(r, other) for other in same)]
        links += [Link("related", self._href(r, self._params))
                  for r in sorted(nearest, key=lambda r: r.template)]
        return links

    def item(self, item: Mapping[str, Any]) -> tuple[str, str] | None:
        """The key whose value names ``item`` and the path of its resource, if one is routed."""
        for route in self._items:
            name = route.segments[-1].name
            for key in _keys_for(name):
                value = item.get(key)
                if isinstance(value, str | int) and not isinstance(value, bool):
                    try:
                        return key, self._href(route, {**self._params, name: value})
                    except ValueError:  # not what the field's converter takes
                        continue
        return None

    def _href(self, route: Route[Endpoint], values: dict[str, Any]) -> str:
        """The path of ``route`` from those of ``values`` it has fields for."""
        return self._base + route.build({k: v for k, v in values.items() if k in route.fields})


def _extends(route: Route[Endpoint], base: Route[Endpoint]) -> bool:
    """Whether ``route``'s template is ``base``'s followed by more segments."""
    count = len(base.segments)
    return len(route.segments) > count and route.segments[:count] == base.segments


def _adds_one_field(route: Route[Endpoint], base: Route[Endpoint]) -> bool:
    """Whether ``route`` is ``base`` plus one ``{field}``: an item of ``base``'s collection."""
    return (
        len(route.segments) == len(base.segments) + 1
        and _extends(route, base)
        and route.segments[-1].converter is not None
    )


def _keys_for(name: str) -> tuple[str, ...]:
    return (name, "id") if name != "id" and name.endswith(("_id", "Id")) else (name,)
