"""The OpenAPI 3.1 document of a site, built with apispec from what the routes already declare.

Nothing here is written twice: paths come from the URI templates, schemas from the resources'
marshmallow schemas (through apispec's `MarshmallowPlugin`), media types from the site's media
handlers, and the responses from the same settings the site acts on (validators, authentication,
rate limits, ``Idempotency-Key``). What the site cannot know without running a handler is
decided as follows:

- **What a read returns** (`returns`). The ``GET`` handler's return annotation, read with
  ``typing.get_type_hints``, says it: ``list[...]``, ``tuple``, ``Sequence[...]`` or
  `resourcekit.Page` is an array, ``None`` a ``204`` without content, a union each of its
  members, any other type (``dict``, a model) one object. ``Any``, ``object``, a
  ``webob.Response`` or an annotation whose names do not resolve say nothing; then the route
  does: a template whose last segment is a field (``/stations/{station_id}``) names one item, an
  object. Only where neither says (an unannotated handler of ``/stations``) is the ``200``
  ``oneOf`` the object and an array of it: annotate the handler to sharpen the document.
- **Statuses.** ``POST`` answers ``201`` (`resourcekit.Created`; without a body under ``Prefer:
  return=minimal``, which OpenAPI cannot tell apart), ``PUT``/``PATCH`` ``200`` (``204`` under
  ``Prefer: return=minimal``), ``DELETE`` ``204``; ``HEAD`` has the headers of ``GET`` and no
  content. ``404`` is listed for routes with fields (a value that does not convert, or a row
  that does not exist); a handler may raise other statuses that no declaration reveals.
- **Query strings** are read by ``GET`` (and so ``HEAD``) handlers: ``query_schema`` becomes
  their query parameters, without ``null`` (a query string cannot carry one). A rule between
  parameters (``since`` before ``until``) is the query schema's ``Meta.description``, added to
  the operation's description.
- **Problems** (RFC 9457, `problems`) are components under ``components/responses``, referenced
  by status, each with an example the site would send: ``406`` everywhere, ``400``/``413``/
  ``415``/``422`` for bodies, ``412``/``428`` with validators and ``require_preconditions``,
  ``401``/``403`` with authentication and permissions, ``429`` with a rate limit, ``409`` with
  ``Idempotency-Key``. ``405`` and ``501`` are not listed: they answer methods an operation is
  not.
- **Security** (`security`): each authenticator names its scheme
  (`resourcekit.auth.Authenticator.openapi_scheme`). Once any operation needs credentials, every
  operation states ``security``, ``[]`` where it is open to anyone.
- **Examples**: a field's ``metadata={"example": ...}`` (or ``"examples": [...]``) becomes its
  property's ``examples``; a schema's ``Meta.description`` its component's ``description``.
- **XML** (`schemas`) follows the site's mapping: each schema component has ``xml.name``
  (`xml_name`), a collection is a wrapped array named `xml_plural`, list fields are wrapped arrays
  of ``<item>``. A nested schema property becomes ``allOf`` with the property's own ``xml.name``,
  since tools give a referenced component's ``xml.name`` precedence over the property name. The
  site writes ``null`` as an empty element with ``xsi:nil="true"``, which OpenAPI's ``xml`` object
  cannot say: the description of each schema with a nullable member says it.
- **Versions** (`versions`): a site with `resourcekit.versioning.Versions` has one document
  per version (``site.openapi(version=...)``; by default the version a request naming none
  gets): the routes that exist in it, the field names it uses, every change's description.
- **Servers and license**: ``servers`` is the site's (``Site.servers``), else ``[{"url": "/"}]``,
  the host the document was fetched from; ``info.license`` only where the site names one
  (``Site.license``).

Routes whose resource sets ``documented = False`` (the docs routes themselves) are left out.

Linters' remaining warnings are choices: no ``license`` or ``contact`` unless the site gives them,
a ``description`` only where the handler's docstring has more than its summary, and no ``4xx``
on ``OPTIONS`` of a route without fields (it cannot fail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from ..methods import BODY_METHODS, QUERY_STRING_READS
from . import problems, schemas, security
from .content import Media, file_attributes
from .parameters import Parameters, path_parameters, query_description
from .responses import successes
from .summaries import default_summary, summary, tag
from .versions import VersionView, chosen

if TYPE_CHECKING:
    from ..endpoint import Endpoint
    from ..routing import Route
    from ..site import Site

__all__ = ["document"]

OPENAPI_VERSION = "3.1.0"


def document(site: Site, version: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1.0 document of ``site`` (at API ``version``), as a JSON-ready dict;
    ``ValueError`` for a version the site does not have."""
    return _Builder(site, chosen(site.versions, version)).build()


class _Builder:
    """Builds one document; holds the spec and what every operation shares."""

    def __init__(self, site: Site, version: str | None) -> None:
        info: dict[str, Any] = {"description": site.description} if site.description else {}
        view = VersionView(site.versions, version) if site.versions and version else None
        if view is not None:
            info.update(view.info(site.description))
        if site.license:
            info["license"] = site.license
        self.plugin = MarshmallowPlugin(schema_name_resolver=schemas.schema_name)
        self.spec = APISpec(
            title=site.title,
            version=site.version,
            openapi_version=OPENAPI_VERSION,
            plugins=[self.plugin],
            info=info,
            servers=site.servers or [{"url": "/"}],
        )
        self.plugin.map_to_openapi_type(fields.Url, "string", "uri")  # type: ignore[no-untyped-call]
        converter = self.plugin.converter
        assert converter is not None  # made when the spec initialised the plugin
        converter.add_attribute_function(file_attributes)  # type: ignore[no-untyped-call]
        self.routes = [
            r for r in site.routes
            if r.target.resource.documented and (view is None or view.has(r))
        ]
        self.media = Media.of(site, converter, view.schema if view else None)
        header = (site.versions.header, view.header()) if site.versions and view else None
        self.parameters = Parameters(converter, site.idempotency.header, header)
        self.versioned = site.versions is not None
        self.every: dict[str, Any] = view.response_headers() if view else {}
        """Headers every response carries: those of the document's API version."""
        self.schemes = security.schemes(r.target for r in self.routes)

    def build(self) -> dict[str, Any]:
        rate_limited = any(r.target.rate_limit is not None for r in self.routes)
        problems.components(
            self.spec, self.media, rate_limited=rate_limited, every=self.every
        )
        self.parameters.components(self.spec)
        extensions: dict[str, dict[str, dict[str, Any]]] = {}
        for route in self.routes:
            resource = route.target.resource
            self.spec.tag(tag(route.name, resource))
            operations = self._operations(route)
            self.spec.path(
                path=_path(route),
                operations=operations,
                parameters=path_parameters(route),
                **summary(type(resource).__doc__),
            )
            extensions[_path(route)] = self._referenced(operations)
        for name, scheme in self.schemes.items():
            self.spec.components.security_scheme(name, scheme)
        result: dict[str, Any] = self.spec.to_dict()
        for path, found in extensions.items():
            for key, resolved in found.items():
                result["paths"][path][key].update(resolved)
        schemas.components(result.get("components", {}).get("schemas", {}), self._classes())
        return result

    def _classes(self) -> dict[str, type[Schema]]:
        """Each schema component's marshmallow class, by component name."""
        return {name: key[0] for key, name in self.media.converter.refs.items()}

    def _operations(self, route: Route[Endpoint]) -> dict[str, Any]:
        methods = [*route.target.handlers, "OPTIONS"]
        return {_operation_key(m): self._operation(route, m) for m in methods}

    def _operation(self, route: Route[Endpoint], method: str) -> dict[str, Any]:
        endpoint = route.target
        handler = endpoint.handlers.get(method)
        operation: dict[str, Any] = {
            "operationId": f"{route.name}.{method.lower()}",
            "tags": [route.name],
            **summary(handler.__doc__ if handler else None, default_summary(route.name, method)),
        }
        if method == "HEAD":
            operation["summary"] = f"Headers only: {operation['summary']}"
        if endpoint.deprecation:  # Resource.deprecated
            operation["deprecated"] = True
        reads = method in QUERY_STRING_READS
        rule = query_description(endpoint.query_schema) if reads else None
        if rule:
            described = operation.get("description")
            operation["description"] = f"{described}\n\n{rule}" if described else rule
        parameters = self.parameters.of(endpoint, method)
        if parameters:
            operation["parameters"] = parameters
        if method in BODY_METHODS:
            operation["requestBody"] = self.media.request_body(endpoint, method)
        elif method == "QUERY":
            operation["requestBody"] = self.media.query_body(endpoint)
        found = successes(self.media, route, method)
        if self.every:
            for response in found.values():
                response["headers"] = {**response.get("headers", {}), **self.every}
        operation["responses"] = {**found, **problems.names(route, method, self.versioned)}
        if self.schemes:  # then an operation without a requirement is open to anyone: say so
            operation["security"] = security.requirements(endpoint.authenticators.get(method, ()))
        return operation

    def _referenced(self, operations: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The extension operations' (``x-query``'s) parameters and responses with component
        names as ``$ref`` objects, registering the components they name: apispec does so only
        under the standard method keys, and for a copy of the operations it was given."""
        components = self.spec.components
        found = {}
        for key, operation in operations.items():
            if not key.startswith("x-"):
                continue
            resolved: dict[str, Any] = {"responses": {
                status: components.get_ref("response", response)
                for status, response in operation["responses"].items()
            }}
            if "parameters" in operation:
                resolved["parameters"] = [
                    components.get_ref("parameter", p) for p in operation["parameters"]
                ]
            found[key] = resolved
        return found


def _operation_key(method: str) -> str:
    """The Path Item key of ``method``'s operation: OpenAPI 3.1 has none for ``QUERY``, which
    is described under the extension ``x-query`` (an Operation Object, as 3.2's ``query``)."""
    return "x-query" if method == "QUERY" else method.lower()


def _path(route: Route[Any]) -> str:
    """The template with bare ``{name}`` fields, as OpenAPI writes them."""
    return "/" + "/".join(
        f"{{{s.name}}}" if s.converter else s.literal or "" for s in route.segments
    )
