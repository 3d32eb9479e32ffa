"""API versions: old clients keep working while the code speaks only the newest shape.

As in Stripe's API, each client is answered in one dated version (ISO dates, ``2026-11-23``),
and each change between two versions is declared once, as a `Change` of one schema: a pair of
transforms, or a field map (``renamed``) that gives both. The site chooses the version once per
request, right after checking ``Host`` (`Versions.choose`): the ``API-Version`` header, else
``pin(request)``, else ``default``, else the newest; it is ``request.version``, and every reply
carries it, errors included.

The work per route is done when the route is registered (`Versions.plan`): which changes concern
its input and output schemas (matched by class, subclasses included), for which versions it does
not exist (``Resource.since``), which versions get their own ``ETag`` variant and ``Vary``. A
request at the newest version, or on a route no change concerns, then costs a dictionary lookup
or two. Where the site acts:

- **Bodies**: parsed, then upgraded change by change from the client's version to the newest,
  then loaded by the input schema (`RouteVersions.load`); the field paths of a ``422`` are
  renamed back to the client's names.
- **Representations**: dumped by the output schema as the newest, then downgraded change by
  change back to the client's version (`RouteVersions.downgrade`), item by item for lists and
  pages, before any media handler renders them: JSON, XML and HTML all get the client's shape.
- **Caching**: a route whose representations differ by version sends ``Vary: API-Version`` and,
  at every version but the newest, strong tags with the version appended (``"v7-2026-11-23"``,
  ``"v7-xml-2026-11-23"``), so neither a cache nor ``If-None-Match`` mistakes one version's body
  for another's.
- **Deprecation**: a deprecated version (``Versions(deprecated={...})``) or resource
  (``Resource.deprecated``) answers with ``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594) where
  a date is known, and ``Link: <...>; rel="deprecation"`` where ``deprecation_link`` is given.

Transforms are plain functions of ``(data, request)`` returning the transformed data; they may
change ``data`` in place (it is the site's own copy). A ``PATCH`` body holds only some fields:
an ``upgrade`` must leave out what is absent.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from marshmallow import Schema
from marshmallow.fields import Field

from . import errors
from .conditional import http_date
from .errors import ConfigurationError
from .request import Request
from .schemas import load_body

logger = logging.getLogger("resourcekit")

__all__ = ["Change", "RouteVersions", "Transform", "Versions", "deprecation_headers"]

Transform = Callable[[Any, Request], Any]
"""``upgrade(data, request)`` or ``downgrade(data, request)``: returns the transformed data."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UNKNOWN = "Unknown field."  # marshmallow's own message for a field a schema does not have


def _check_version(what: str, value: Any) -> str:
    """``value`` if it is an ISO date (``YYYY-MM-DD``) that exists."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise ConfigurationError(f"{what} must be an ISO date such as '2026-11-23', not {value!r}")


def _check_moment(what: str, value: Any) -> dt.datetime | None:
    """None or an aware ``datetime``."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise ConfigurationError(f"{what} must be an aware datetime or None, not {value!r}")
    return value


def _check_transform(what: str, value: Any) -> Transform | None:
    if value is not None and not callable(value):
        raise ConfigurationError(f"{what} must be a function (data, request) -> data or None")
    return value  # type: ignore[no-any-return]


class Change:
    """What changed in ``version`` for ``schema`` (a marshmallow schema class; an instance
    stands for its class).

    ``upgrade(data, request)`` turns a request body of the previous version into this one's,
    ``downgrade(data, request)`` a representation of this version into the previous one's.
    ``renamed={old: new}`` gives both for fields that changed name (dotted paths move a field
    in or out of a nested object: ``{"wind_speed_ms": "wind.speed_ms"}``) and renames the
    field paths of ``422`` messages back; a body of an older version that uses a new name is
    refused with ``422`` (``Unknown field.``), as the older schema would have. With both, a body
    is renamed then upgraded, a representation downgraded then renamed. A change with neither
    only documents itself (handlers may still branch on ``request.version``).
    """

    def __init__(
        self,
        version: str,
        description: str,
        schema: type[Schema] | Schema | None = None,
        upgrade: Transform | None = None,
        downgrade: Transform | None = None,
        renamed: Mapping[str, str] | None = None,
    ) -> None:
        what = f"Change({version!r})"
        self.version = _check_version(f"{what}.version", version)
        if not isinstance(description, str) or not description.strip():
            raise ConfigurationError(f"{what}.description must be a sentence saying what changed")
        if isinstance(schema, Schema):
            schema = type(schema)
        if not (isinstance(schema, type) and issubclass(schema, Schema)):
            raise ConfigurationError(
                f"{what}.schema must be the marshmallow Schema class the change concerns,"
                f" not {schema!r}"
            )
        self.description = description
        self.schema: type[Schema] = schema
        self.upgrade = _check_transform(f"{what}.upgrade", upgrade)
        self.downgrade = _check_transform(f"{what}.downgrade", downgrade)
        self.renamed = _check_renamed(f"{what}.renamed", renamed)
        self._moves = [(old.split("."), new.split(".")) for old, new in self.renamed.items()]
        # error paths: the longest new path first, so "wind.speed_ms" wins over "wind"
        self._back = sorted(((new, old) for old, new in self.renamed.items()),
                            key=lambda pair: -len(pair[0]))

    def concerns(self, schema: Schema | None) -> bool:
        """Whether a route's schema is this change's (or a subclass of it)."""
        return schema is not None and isinstance(schema, self.schema)

    def upgrading(self, data: Any, request: Request) -> Any:
        """A body of the previous version as this version's."""
        if self._moves and isinstance(data, dict):
            # a newer name at the top of an older body is a member that version did not have
            unknown = [new[0] for old, new in self._moves if new[0] != old[0] and _has(data, new)]
            if unknown:
                raise errors.UnprocessableContent(
                    "the body does not match the schema",
                    errors={name: [_UNKNOWN] for name in unknown},
                )
            for old, new in self._moves:
                _move(data, old, new)
        return self.upgrade(data, request) if self.upgrade is not None else data

    def downgrading(self, data: Any, request: Request) -> Any:
        """A representation of this version as the previous version's."""
        if self.downgrade is not None:
            data = self.downgrade(data, request)
        if self._moves and isinstance(data, dict):
            for old, new in self._moves:
                _move(data, new, old)
        return data

    def client_path(self, path: str) -> str:
        """A field path of this version as the previous version names it."""
        for new, old in self._back:
            if path == new or path.startswith(new + "."):
                return old + path[len(new):]
        return path

    def __repr__(self) -> str:
        return f"<Change {self.version} {self.schema.__name__}: {self.description}>"


def _check_renamed(what: str, renamed: Any) -> dict[str, str]:
    if renamed is None:
        return {}
    if not isinstance(renamed, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in renamed.items()
    ):
        raise ConfigurationError(f"{what} must map old field names to new ones, not {renamed!r}")
    return dict(renamed)


def _has(data: dict[str, Any], path: list[str]) -> bool:
    for key in path[:-1]:
        data = data.get(key)  # type: ignore[assignment]
        if not isinstance(data, dict):
            return False
    return path[-1] in data


def _move(data: dict[str, Any], source: list[str], target: list[str]) -> None:
    """Move the value at ``source`` to ``target``, making the objects ``target`` needs; an
    object on the way to ``source`` left empty goes, as the other version has no such member.

    Where ``target`` is in an object on the way to ``source``, the member takes the place of
    the one it came from (a rename keeps its position: XML elements keep their order)."""
    if len(source) == 1 == len(target):  # a plain rename, the common case
        old, new = source[0], target[0]
        if old in data:
            renamed = {new if key == old else key: value for key, value in data.items()}
            data.clear()
            data.update(renamed)
        return
    parents = [data]
    for key in source[:-1]:
        child = parents[-1].get(key)
        if not isinstance(child, dict):
            return
        parents.append(child)
    found = source[-1] in parents[-1]
    level = len(target) - 1
    shared = level < len(source) and target[:-1] == source[:level] and found
    position = list(parents[level]).index(source[level]) if shared else -1
    value = parents[-1].pop(source[-1], None)
    for key, parent in zip(reversed(source[:-1]), reversed(parents[:-1]), strict=True):
        if parent[key]:
            break
        del parent[key]
    if not found:
        return
    place = data
    for key in target[:-1]:
        child = place.get(key)
        if not isinstance(child, dict):
            child = place[key] = {}
        place = child
    if position < 0:
        place[target[-1]] = value
        return
    members = list(place.items())
    members.insert(position, (target[-1], value))
    place.clear()
    place.update(members)


def deprecation_headers(
    deprecated: dt.datetime, sunset: dt.datetime | None, link: str | None
) -> tuple[tuple[str, str], ...]:
    """``Deprecation`` (RFC 9745: ``@`` and Unix seconds), ``Sunset`` (RFC 8594: an
    HTTP-date) when known, and ``Link`` with ``rel="deprecation"`` when given."""
    headers = [("Deprecation", f"@{int(deprecated.timestamp())}")]
    if sunset is not None:
        headers.append(("Sunset", http_date(sunset)))
    if link is not None:
        headers.append(("Link", f'<{link}>; rel="deprecation"'))
    return tuple(headers)


class Versions:
    """The versions of a site, oldest first: ``first``, then each `Change` in order (several
    changes may share a version).

    A client names its version in the ``header`` (``API-Version``); one that names none is
    answered in ``pin(request)`` (e.g. the version its API key was made with; it runs before
    authentication, so it reads the request's headers itself, and may return None; a version
    it returns that the site does not serve is a logged 500, never another version's shape),
    else ``default``, else the newest. ``deprecated`` maps versions to their sunset (an aware
    datetime, or None when not yet set): their answers carry ``Deprecation``, dated when the
    next version came out (midnight UTC), and ``Sunset``. ``deprecation_link`` is the URL where
    the changes are described, sent as ``Link: <...>; rel="deprecation"`` with them.
    """

    def __init__(
        self,
        first: str,
        *changes: Change,
        header: str = "API-Version",
        default: str | None = None,
        pin: Callable[[Request], str | None] | None = None,
        deprecated: Mapping[str, dt.datetime | None] | None = None,
        deprecation_link: str | None = None,
    ) -> None:
        self.first = _check_version("Versions.first", first)
        versions = [self.first]
        for change in changes:
            if not isinstance(change, Change):
                raise ConfigurationError(f"Versions: {change!r} is not a Change")
            if change.version < versions[-1] or change.version == self.first:
                raise ConfigurationError(
                    f"Versions: {change!r} comes after {versions[-1]}: versions must increase"
                )
            if change.version != versions[-1]:
                versions.append(change.version)
        if not isinstance(header, str) or not header or not header.replace("-", "").isalnum():
            raise ConfigurationError(f"Versions.header must be a header name, not {header!r}")
        self.changes: tuple[Change, ...] = changes
        self.versions: tuple[str, ...] = tuple(versions)
        """Every version, oldest first."""
        self.newest = versions[-1]
        self.header = header
        self.default = self._known("Versions.default", default) if default is not None else None
        if pin is not None and not callable(pin):
            raise ConfigurationError(f"Versions.pin must be a function (request) -> version, "
                                     f"not {pin!r}")
        self.pin = pin
        self.fallback = self.default or self.newest
        """The version of a request that names none and is not pinned."""
        if deprecation_link is not None and not isinstance(deprecation_link, str):
            raise ConfigurationError(f"Versions.deprecation_link must be a URL string, not "
                                     f"{deprecation_link!r}")
        self.deprecation_link = deprecation_link
        self.deprecated = self._check_deprecated(deprecated)
        self._views: dict[tuple[int, str | None], tuple[Schema, Schema]] = {}
        self._environ_key = "HTTP_" + header.upper().replace("-", "_")
        self.headers: dict[str, tuple[tuple[str, str], ...]] = {
            version: ((header, version), *self._deprecation(version)) for version in versions
        }
        """What every reply at each version carries: ``API-Version`` and its deprecation."""

    def headers_named(self, given: str | None) -> tuple[tuple[str, str], ...]:
        """What a reply carries to a request whose header named ``given`` (or none), where the
        site did not run (the server's own 413 or 400): that version's, else the fallback's.
        `pin` is not asked: the request was not read far enough to be judged."""
        version = self.fallback if given is None else given.strip()
        return self.headers.get(version) or self.headers[self.fallback]

    def _known(self, what: str, version: Any) -> str:
        if version not in self.versions:
            raise ConfigurationError(
                f"{what} is {version!r}, not one of the versions {', '.join(self.versions)}"
            )
        return str(version)

    def _check_deprecated(self, deprecated: Any) -> dict[str, dt.datetime | None]:
        if deprecated is None:
            return {}
        if not isinstance(deprecated, Mapping):
            raise ConfigurationError(f"Versions.deprecated must map versions to sunset dates, "
                                     f"not {deprecated!r}")
        for version, sunset in deprecated.items():
            self._known("a key of Versions.deprecated", version)
            if version == self.newest:
                raise ConfigurationError(f"Versions.deprecated: {version} is the newest version")
            _check_moment(f"Versions.deprecated[{version!r}]", sunset)
        return dict(deprecated)

    def _deprecation(self, version: str) -> tuple[tuple[str, str], ...]:
        if version not in self.deprecated:
            return ()
        successor = self.versions[self.versions.index(version) + 1]
        since = dt.datetime.fromisoformat(successor).replace(tzinfo=dt.UTC)
        return deprecation_headers(since, self.deprecated[version], self.deprecation_link)

    # -- per request ------------------------------------------------------------------------

    def choose(self, request: Request) -> tuple[tuple[str, str], ...]:
        """Set ``request.version``; return the headers every reply to it carries. An unknown
        version is a 400 problem listing the known ones."""
        given = request.environ.get(self._environ_key)
        if given is not None:
            version = given.strip()
            if version not in self.headers:
                request.version = self.fallback
                raise errors.BadRequest(
                    f"{self.header} {given[:64]!r} is not a version of this API; "
                    f"the versions are {', '.join(self.versions)}",
                    versions=list(self.versions),
                    headers=self.headers[self.fallback],
                )
        elif self.pin is not None:
            version = self.pin(request) or self.fallback
            if version not in self.headers:  # the server's fault: never a silent other shape
                logger.error("Versions.pin returned %r, not a version of this API", version)
                request.version = self.fallback
                raise errors.HTTPError(
                    500,
                    "the API version this client is pinned to is not served",
                    headers=self.headers[self.fallback],
                )
        else:
            version = self.fallback
        request.version = version
        return self.headers[version]

    # -- per route, at registration ---------------------------------------------------------

    def schema_at(self, schema: Schema, version: str | None) -> Schema:
        """``schema`` with the field names clients of ``version`` use, for documents and
        forms and the XML reader: each field a later ``renamed`` change concerns is copied with
        its older ``data_key``, and an object whose every member a change moved into it
        (``{"wind_speed_ms": "wind.speed_ms", ...}``) is drawn as those members, flat. Made once
        per schema and version."""
        key = (id(schema), version)
        found = self._views.get(key)
        if found is None:
            found = self._views[key] = (schema, _renamed_back(schema, self.changes_after(
                version or self.newest)))
        return found[1]

    def changes_after(self, version: str) -> list[Change]:
        """The changes a client at ``version`` does not see, oldest first."""
        return [c for c in self.changes if c.version > version]

    def plan(
        self,
        owner: str,
        since: str | None,
        input_schema: Schema | None,
        output_schema: Schema | None,
    ) -> RouteVersions | None:
        """What versions mean for one route (``owner`` names its resource in errors); None
        when nothing: no change concerns its schemas and it exists in every version."""
        hidden: frozenset[str] = frozenset()
        if since is not None:
            since = self._known(f"{owner}.since", since)
            hidden = frozenset(v for v in self.versions if v < since)
        upgrades: dict[str, tuple[Change, ...]] = {}
        downgrades: dict[str, tuple[Change, ...]] = {}
        for version in self.versions:
            later = self.changes_after(version)
            ups = tuple(c for c in later if c.concerns(input_schema))
            downs = tuple(reversed([c for c in later if c.concerns(output_schema)]))
            if ups:
                upgrades[version] = ups
            if downs:
                downgrades[version] = downs
        if not (hidden or upgrades or downgrades):
            return None
        tags: dict[str | None, str] = {version: version for version in downgrades}
        readers: dict[str | None, Schema] = {}
        if input_schema is not None:
            for version in upgrades:
                reader = self.schema_at(input_schema, version)
                if reader is not input_schema:
                    readers[version] = reader
        vary = bool(hidden or downgrades)
        return RouteVersions(self.header, hidden, upgrades, downgrades, tags, vary, readers)


def _renamed_back(schema: Schema, later: list[Change]) -> Schema:
    names: dict[str, str] = {}  # newest data key -> the older version's
    moved: dict[str, dict[str, str]] = {}  # outer key -> {inner key: the older flat key}
    for change in reversed(later):  # the newest change first
        if not change.concerns(schema):
            continue
        for old, new in change.renamed.items():
            if "." not in old and "." not in new:
                newest = next((k for k, current in names.items() if current == new), new)
                names[newest] = old
            elif "." not in old and new.count(".") == 1:  # moved into an object: drawn flat
                outer, inner = new.split(".")
                moved.setdefault(outer, {})[inner] = old
    if not names and not moved:
        return schema
    renamed: dict[str, Field[Any]] = {}
    origin: dict[str, str] = {}  # each field's name in ``schema``, for its load/dump sides
    for name, field in schema.fields.items():
        key = field.data_key or name
        flat = _moved_out(field, moved[key]) if key in moved else None
        if flat is not None:
            renamed.update(flat)
            origin.update(dict.fromkeys(flat, name))
            continue
        if key in names:
            field = copy.copy(field)
            field.data_key = names[key]
        renamed[name] = field
        origin[name] = name
    variant = copy.copy(schema)
    variant.fields = renamed
    variant.load_fields = {n: f for n, f in renamed.items() if origin[n] in schema.load_fields}
    variant.dump_fields = {n: f for n, f in renamed.items() if origin[n] in schema.dump_fields}
    return variant


def _moved_out(field: Field[Any], inners: dict[str, str]) -> dict[str, Field[Any]] | None:
    """The members of a nested object that older versions have flat, each as a copy of its
    field under the older key; None unless every member of the object moved."""
    nested = getattr(field, "schema", None)
    if not isinstance(nested, Schema):
        return None
    keys = {inner.data_key or name: inner for name, inner in nested.fields.items()}
    if set(keys) != set(inners):
        return None
    flat = {}
    for key, inner in keys.items():
        copied = copy.copy(inner)
        copied.data_key = inners[key]
        flat[inners[key]] = copied
    return flat


class RouteVersions:
    """One route's versions, worked out at registration: every per-request step is a lookup
    by ``request.version``."""

    __slots__ = ("downgrades", "header", "hidden", "readers", "tags", "upgrades", "vary")

    def __init__(
        self,
        header: str,
        hidden: frozenset[str],
        upgrades: dict[str, tuple[Change, ...]],
        downgrades: dict[str, tuple[Change, ...]],
        tags: dict[str | None, str],
        vary: bool,
        readers: dict[str | None, Schema] | None = None,
    ) -> None:
        self.header = header
        self.hidden = hidden
        """The versions in which the route does not exist (before ``Resource.since``)."""
        self.upgrades = upgrades
        """By version: the changes a body goes through, oldest first."""
        self.downgrades = downgrades
        """By version: the changes a representation goes back through, newest first."""
        self.tags = tags
        """By version: what its strong tags get appended (versions whose bodies differ)."""
        self.vary = vary
        """Whether the route's answers differ by version, hence ``Vary`` on the header."""
        self.readers = readers or {}
        """By version: the input schema as that version names its fields, which guides the
        parsers of formats without types of their own (XML: a renamed list stays a list)."""

    def reader(self, request: Request, schema: Schema | None) -> Schema | None:
        """The schema a body of the request's version is parsed with (`readers`)."""
        return self.readers.get(request.version, schema)

    def admit(self, request: Request) -> None:
        """404 for a version in which the route does not exist yet."""
        if request.version in self.hidden:
            raise errors.NotFound(
                f"no resource at this address in API version {request.version}",
                headers=[("Vary", f"Accept, {self.header}")],
            )

    def load(
        self,
        request: Request,
        schema: Schema | None,
        data: Any,
        partial: bool,
        keep: Callable[[Any], Any] | None = None,
    ) -> Any:
        """``data`` upgraded to the newest version, then what ``keep`` keeps of it, loaded; a
        422 in the client's names."""
        changes = self.upgrades.get(request.version or "")
        if changes is None:
            return load_body(schema, data if keep is None else keep(data), partial=partial)
        for change in changes:
            data = change.upgrading(data, request)
        if keep is not None:
            data = keep(data)
        try:
            return load_body(schema, data, partial=partial)
        except errors.UnprocessableContent as error:
            found = error.extra.get("errors")
            if isinstance(found, dict):
                error.extra["errors"] = _client_paths(found, reversed(changes))
            raise

    def downgrade(self, request: Request, data: Any, many: bool) -> Any:
        """A dumped representation (``many``: a list of them) in the client's version."""
        changes = self.downgrades.get(request.version or "")
        if changes is None:
            return data
        if many:
            return [_downgrade(item, changes, request) for item in data]
        return _downgrade(data, changes, request)


def _downgrade(data: Any, changes: tuple[Change, ...], request: Request) -> Any:
    for change in changes:
        data = change.downgrading(data, request)
    return data


def _client_paths(found: dict[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A 422's field paths renamed back by each change, newest first."""
    for change in changes:
        if change.renamed:
            found = {change.client_path(path): messages for path, messages in found.items()}
    return found
