"""URI templates and the router that matches request paths against them.

Templates are RFC 6570 level-1 style: ``/stations/{station_id:int}/observations/{obs_id}``. Each
``{field}`` fills one whole path segment; ``{field:path}`` takes the rest of the path;
``{field:name}`` converts its segment with the `Converter` registered under ``name`` (``int``,
``uuid``, ``str``, ``path``, and those a router adds). Templates are compiled into a tree of
segments, so a match costs one dictionary lookup per literal segment and never scans a list of
regular expressions; routes without fields are a single lookup.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote

__all__ = ["CONVERTERS", "Converter", "Route", "RouteError", "Router"]

T = TypeVar("T")


class RouteError(ValueError):
    """A template is malformed or conflicts with one already registered (raised at startup)."""


@dataclass(frozen=True)
class Converter:
    """Turns one decoded path segment into a Python value and back: ``{field:name}``.

    ``to_python(segment)`` raises ValueError for a segment it does not take (the path then
    matches another route, or is a 404); ``to_url(value)`` gives the segment, percent-encoded
    (``urllib.parse.quote(str(value), safe="")`` for most), and raises ValueError for a value it
    cannot represent. Where templates put fields of several converters at one position, the
    lower ``rank`` is tried first: ``int`` is 0, ``uuid`` 1, ``str`` 2, so a converter that takes
    fewer segments than ``str`` belongs below 2. Register one with ``Router(converters=[...])``.
    """

    name: str
    to_python: Callable[[str], Any]
    to_url: Callable[[Any], str]
    rank: int = 1

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"converter name {self.name!r} must be a Python identifier")


MAX_INT = 2**63 - 1
"""The largest ``{field:int}``: what a database's 64-bit integer key holds; beyond is a 404."""


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FIELD = re.compile(rf"\{{({_NAME.pattern})(?::({_NAME.pattern}))?\}}")


def _to_int(segment: str) -> int:
    if not (segment.isascii() and segment.isdigit() and len(segment) <= 19):
        raise ValueError(segment)
    value = int(segment)
    if value > MAX_INT:
        raise ValueError(segment)
    return value


def _int_to_url(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise ValueError(f"{value!r} is not an int from 0 to 2**63 - 1")
    return str(value)


def _to_uuid(segment: str) -> uuid.UUID:
    if len(segment) != 36:
        raise ValueError(segment)
    return uuid.UUID(segment)


def _nonempty(segment: str) -> str:
    if not segment:
        raise ValueError("empty segment")
    return segment


_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}
"""Segments a client or proxy would resolve away (RFC 3986 section 5.2.4), encoded: a server
decodes them back, so ``{name}`` still receives ``..``."""


def _str_to_url(value: Any) -> str:
    segment = quote(_nonempty(str(value)), safe="")
    return _DOT_SEGMENTS.get(segment, segment)


def _path_to_url(value: Any) -> str:
    path = quote(_nonempty(str(value)), safe="/")
    if path.startswith("/"):  # else ``/{p:path}`` would build ``//host/...``, another site's URL
        path = "%2F" + path[1:]
    if "." not in path:
        return path
    return "/".join([_DOT_SEGMENTS.get(segment, segment) for segment in path.split("/")])


_PATH = Converter("path", _nonempty, _path_to_url, 3)
"""Not tried segment by segment: a ``{field:path}`` takes whatever remains of the path."""
CONVERTERS: Mapping[str, Converter] = MappingProxyType({
    "int": Converter("int", _to_int, _int_to_url, 0),
    "uuid": Converter("uuid", _to_uuid, lambda v: str(uuid.UUID(str(v))), 1),
    "str": Converter("str", _nonempty, _str_to_url, 2),
    "path": _PATH,
})
"""The converters every router has; ``Router(converters=[...])`` adds to them."""


@dataclass(frozen=True)
class _Segment:
    """A literal segment (``converter`` None), or a field: ``name`` converted by ``converter``."""

    literal: str = ""
    name: str = ""
    converter: Converter | None = None


@dataclass
class Route(Generic[T]):
    """A compiled template bound to whatever the site dispatches to (``target``)."""

    template: str
    name: str
    target: T
    segments: tuple[_Segment, ...] = ()

    @cached_property
    def fields(self) -> frozenset[str]:
        return frozenset(s.name for s in self.segments if s.converter is not None)

    def build(self, values: dict[str, Any]) -> str:
        """The path for ``values``, each percent-encoded by its field's converter."""
        if len(values) == len(self.fields):  # then a value for each field, or a KeyError
            try:
                return "/" + "/".join([
                    s.literal if s.converter is None else s.converter.to_url(values[s.name])
                    for s in self.segments
                ])
            except KeyError:
                pass
        raise LookupError(
            f"route {self.name!r} ({self.template}) needs fields "
            f"{sorted(self.fields)}, got {sorted(values)}"
        )


def parse_template(
    template: str, registry: Mapping[str, Converter] = CONVERTERS
) -> tuple[_Segment, ...]:
    """Split a template into literal and field segments, refusing anything ambiguous; each
    ``{field:name}`` names a converter of ``registry``."""
    if not template.startswith("/"):
        raise RouteError(f"template {template!r} must start with '/'")
    if template == "/":
        return ()
    parts = template[1:].split("/")
    segments: list[_Segment] = []
    names: set[str] = set()
    for index, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            if not part and index != len(parts) - 1:
                raise RouteError(f"template {template!r} has an empty segment")
            segments.append(_Segment(literal=quote(part, safe="-._~!$&'()*+,;=:@")))
            continue
        found = _FIELD.fullmatch(part)
        if not found:
            raise RouteError(
                f"template {template!r}: segment {part!r} must be exactly one "
                "'{name}' or '{name:type}' field"
            )
        name, kind = found.group(1), found.group(2) or "str"
        converter = registry.get(kind)
        if converter is None:
            raise RouteError(
                f"template {template!r}: unknown field type {kind!r} "
                f"(registered: {', '.join(sorted(registry))})"
            )
        if name in names:
            raise RouteError(f"template {template!r} names field {name!r} twice")
        if converter is _PATH and index != len(parts) - 1:
            raise RouteError(f"template {template!r}: a path field must be the last segment")
        names.add(name)
        segments.append(_Segment(name=name, converter=converter))
    return tuple(segments)


@dataclass
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    fields: list[tuple[str, Converter, _Node[T]]] = field(default_factory=list)
    rest: tuple[str, Route[T]] | None = None
    route: Route[T] | None = None


class Router(Generic[T]):
    """Matches decoded request paths to routes.

    ``converters`` adds `Converter` s to the built-in ones (`CONVERTERS`), for templates to name
    as ``{field:name}``; `converters` is the registry the router resolves them with.
    """

    def __init__(self, converters: Iterable[Converter] = ()) -> None:
        self.converters = _registry(converters)
        self._root: _Node[T] = _Node()
        self._static: dict[str, Route[T]] = {}
        self.routes: list[Route[T]] = []

    def add(self, template: str, name: str, target: T) -> Route[T]:
        segments = parse_template(template, self.converters)
        route = Route(template, name, target, segments)
        node = self._root
        for segment in segments:
            if segment.converter is None:
                node = node.literals.setdefault(unquote(segment.literal), _Node())
            elif segment.converter is _PATH:
                if node.rest is not None:
                    raise RouteError(f"{template!r} conflicts with {node.rest[1].template!r}")
                node.rest = (segment.name, route)
                break
            else:
                node = self._field_child(node, segment.name, segment.converter, template)
        else:
            if node.route is not None:
                raise RouteError(f"{template!r} conflicts with {node.route.template!r}")
            node.route = route
            if not route.fields:
                self._static["/" + "/".join(unquote(s.literal) for s in segments)] = route
        self.routes.append(route)
        return route

    @staticmethod
    def _field_child(node: _Node[T], name: str, converter: Converter, template: str) -> _Node[T]:
        for known, known_converter, child in node.fields:
            if known_converter is converter:
                if known != name:
                    raise RouteError(
                        f"{template!r}: field {{{name}}} stands where another template "
                        f"has {{{known}}}; use one name for one position"
                    )
                return child
        new: _Node[T] = _Node()
        node.fields.append((name, converter, new))
        node.fields.sort(key=lambda item: item[1].rank)
        return new

    def match(
        self, path: str, segments: list[str] | None = None
    ) -> tuple[Route[T], dict[str, Any]] | None:
        """The route for ``path`` and its converted field values, or None.

        ``segments`` are the decoded segments when they cannot be had by splitting ``path``: a
        segment holding an encoded slash (``%2F``) is one segment, not two.
        """
        if segments is None:
            route = self._static.get(path)
            if route is not None:
                return route, {}
            if not path.startswith("/"):
                return None
            segments = path[1:].split("/") if path != "/" else []
        params: dict[str, Any] = {}
        found = _walk(self._root, segments, 0, params)
        return (found, params) if found is not None else None


def _walk(node: _Node[T], parts: list[str], index: int, params: dict[str, Any]) -> Route[T] | None:
    """The route under ``node`` for ``parts[index:]``, depth first: the segment's literal, then
    each field by rank, then a path field; a dead end backtracks to the latest choice, taking
    back the field value it had set."""
    if index == len(parts):
        return node.route
    part = parts[index]
    child = node.literals.get(part)
    if child is not None:
        found = _walk(child, parts, index + 1, params)
        if found is not None:
            return found
    for name, converter, child in node.fields:
        try:
            params[name] = converter.to_python(part)
        except ValueError:
            continue
        found = _walk(child, parts, index + 1, params)
        if found is not None:
            return found
        del params[name]
    if node.rest is not None:
        rest = "/".join(parts[index:])
        if rest:
            name, route = node.rest
            params[name] = rest
            return route
    return None


def _registry(extra: Iterable[Converter]) -> Mapping[str, Converter]:
    registry = dict(CONVERTERS)
    for converter in extra:
        if not isinstance(converter, Converter):
            raise TypeError(f"{converter!r} is not a resourcekit.routing.Converter")
        if converter.name in registry:
            raise ValueError(f"a converter named {converter.name!r} is already registered")
        registry[converter.name] = converter
    return MappingProxyType(registry)
