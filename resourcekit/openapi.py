"""The OpenAPI 3.1 document of a site, built with apispec from what the routes already declare.

Nothing here is written twice: paths come from the URI templates, schemas from the resources'
marshmallow schemas (through apispec's `MarshmallowPlugin`), media types from the site's media
handlers, and the responses from the same settings the site acts on (validators, authentication,
rate limits, ``Idempotency-Key``). What the site cannot know without running a handler is
guessed as follows:

- **Object or list.** A ``GET`` handler annotated ``-> list[...]``, ``tuple``, ``Sequence`` or
  `resourcekit.Page` returns a list; one annotated with another type (``dict``, a model)
  returns an object. Without an annotation the honest answer is "either", so its ``200`` is
  ``oneOf`` the object and an array of it. Annotating the handler sharpens the document.
- **Statuses.** ``POST`` answers ``201`` (`resourcekit.Created`; without a body under ``Prefer:
  return=minimal``, which OpenAPI cannot tell apart), ``PUT``/``PATCH`` ``200`` (``204`` under
  ``Prefer: return=minimal``), ``DELETE`` ``204``. ``404`` is listed for routes with fields (a
  value that does not convert, or a row that does not exist); a handler may raise other statuses
  that no declaration reveals.
- **Query strings** are read by ``GET`` (and so ``HEAD``) handlers: ``query_schema`` becomes
  their query parameters, without ``null`` (a query string cannot carry one).
- **Problems** (RFC 9457) are components under ``components/responses``, referenced by status:
  ``406`` everywhere, ``400``/``413``/``415``/``422`` for bodies, ``412``/``428`` with validators
  and ``require_preconditions``, ``401``/``403`` with authentication and permissions, ``429`` with
  a rate limit, ``409`` with ``Idempotency-Key``. ``405`` and ``501`` are not listed: they answer
  methods an operation is not.
- **XML** follows the site's mapping: each schema component has ``xml.name`` (`xml_name`), a
  collection is a wrapped array named `xml_plural`, list fields are wrapped arrays of ``<item>``.
  A nested schema property becomes ``allOf`` with the property's own ``xml.name``, since tools give
  a referenced component's ``xml.name`` precedence over the property name. The site writes
  ``null`` as an empty element with ``xsi:nil="true"``, which OpenAPI's ``xml`` object cannot say.

Routes whose resource sets ``_openapi_hidden`` (the docs routes themselves) are left out.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as _class_name
from marshmallow import Schema, fields

from . import auth
from .media import MediaHandler
from .media.xml import xml_name, xml_plural
from .methods import BODY_METHODS, CONDITIONAL_WRITES, IDEMPOTENCY_KEYED, SAFE_METHODS
from .routing import MAX_INT

if TYPE_CHECKING:
    from .endpoint import Endpoint
    from .routing import Route
    from .site import Site

__all__ = ["document"]

OPENAPI_VERSION = "3.1.0"

_PATH_FIELDS = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "uuid": {"type": "string", "format": "uuid"},
    "str": {"type": "string", "minLength": 1},
    "path": {"type": "string", "minLength": 1},
}
_PATH_NOTES = {"path": "The rest of the path; it may contain `/`."}

_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is malformed: a query string the query schema rejects, a "
          "body that does not parse or is missing, or an invalid `Idempotency-Key`."),
    401: ("Unauthorized", "Credentials are missing or were refused; `WWW-Authenticate` names "
          "every accepted scheme."),
    403: ("Forbidden", "A permission check refused the request."),
    404: ("NotFound", "No such resource: a path field that does not convert, or nothing there."),
    406: ("NotAcceptable", "None of the media types the resource has is acceptable to `Accept`; "
          "`available` lists them."),
    409: ("Conflict", "A request with this `Idempotency-Key` is still in progress."),
    412: ("PreconditionFailed", "`If-Match`, `If-None-Match` or `If-Unmodified-Since` failed: "
          "the resource has changed since the client saw it."),
    413: ("ContentTooLarge", "The body is larger than the site accepts."),
    415: ("UnsupportedMediaType", "The body's `Content-Type` (or its charset) cannot be read; "
           "`accepted` lists the media types that can."),
    422: ("UnprocessableContent", "The body parsed but the schema rejected it (`errors` maps "
          "each field path to its messages), or the `Idempotency-Key` was used with another "
          "request."),
    428: ("PreconditionRequired", "This resource takes changes only with `If-Match` (or "
          "`If-Unmodified-Since`)."),
    429: ("TooManyRequests", "The client is over its rate limit; retry after `Retry-After` "
          "seconds."),
}

_HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "The entity tag of the representation.",
             "schema": {"type": "string", "pattern": '^(W/)?".*"$'}},
    "Last-Modified": {"description": "When the resource last changed (an HTTP-date).",
                      "schema": {"type": "string"}},
    "Cache-Control": {"description": "How caches may keep the representation.",
                      "schema": {"type": "string"}},
    "Location": {"description": "The URL of the created resource.",
                 "schema": {"type": "string", "format": "uri"}},
    "Link": {"description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages, "
                            "when the handler returned a page.",
             "schema": {"type": "string"}},
    "Allow": {"description": "The methods the resource supports.", "schema": {"type": "string"}},
    "RateLimit": {"description": "The client's remaining quota (draft-ietf-httpapi-ratelimit-"
                                 "headers).", "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": "The quota policy.", "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1}},
    "WWW-Authenticate": {"description": "A challenge per accepted scheme.",
                         "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the stored response to an "
                                           "earlier request with the same `Idempotency-Key`.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "Preference-Applied": {"description": "`return=minimal` when the body was left out as "
                                          "`Prefer` asked.", "schema": {"type": "string"}},
}

_REQUEST_HEADERS: dict[str, dict[str, Any]] = {
    "If-None-Match": {"description": "Entity tags (or `*`): a `GET` whose tag matches is "
                                     "answered `304`; a `PUT` with `*` creates only if absent.",
                      "schema": {"type": "string"}},
    "If-Modified-Since": {"description": "An HTTP-date: `304` when the resource has not changed "
                                         "since.", "schema": {"type": "string"}},
    "If-Match": {"description": "Entity tags (or `*`) the resource must still have, else `412`: "
                                "send the `ETag` you last received.",
                 "schema": {"type": "string"}},
    "If-Unmodified-Since": {"description": "An HTTP-date the resource must not have changed "
                                           "since, else `412`.", "schema": {"type": "string"}},
    "Prefer": {"description": "`return=minimal` (RFC 7240) leaves the representation out of "
                              "the response (`201` without a body, `204` instead of `200`).",
               "schema": {"type": "string"}},
}


def document(site: Site) -> dict[str, Any]:
    """The OpenAPI 3.1.0 document of ``site``, as a JSON-ready dict."""
    return _Builder(site).build()


class _Builder:
    """Builds one document; holds the spec and what every operation shares."""

    def __init__(self, site: Site) -> None:
        self.site = site
        info = {"description": site.description} if site.description else {}
        self.plugin = MarshmallowPlugin(schema_name_resolver=_schema_name)
        self.spec = APISpec(
            title=site.title,
            version=site.version,
            openapi_version=OPENAPI_VERSION,
            plugins=[self.plugin],
            info=info,
        )
        self.plugin.map_to_openapi_type(fields.Url, "string", "uri")
        self.routes = [r for r in site.routes if not _hidden(r)]
        handlers = site.negotiator.handlers
        self.response_types = list(site.negotiator.offers)
        self.request_types = [t for h in handlers if _parses(h) for t in h.media_types]
        self.problem_types = _unique(h.problem_type for h in handlers if h.problem_type) or [
            handlers[0].media_types[0]
        ]
        self.rate_limited = any(r.target.rate_limit is not None for r in self.routes)

    def build(self) -> dict[str, Any]:
        self._problem_components()
        self._parameter_components()
        for route in self.routes:
            self.spec.tag(_tag(route))
            self.spec.path(
                path=_path(route),
                operations=self._operations(route),
                parameters=_path_parameters(route),
                **_summary(type(route.target.resource).__doc__),
            )
        self._security_components()
        result = self.spec.to_dict()
        self._xml(result.get("components", {}).get("schemas", {}))
        return result

    # -- components: registered lazily, so only what an operation names is written ------------

    def _problem_components(self) -> None:
        self.spec.components.schema("Problem", _problem_schema())
        content = self._content({"$ref": "#/components/schemas/Problem"}, self.problem_types)
        for status, (name, description) in _PROBLEMS.items():
            response: dict[str, Any] = {"description": description, "content": content}
            headers = self._problem_headers(status)
            if headers:
                response["headers"] = headers
            self.spec.components.response(name, response, lazy=True)

    def _problem_headers(self, status: int) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        if status == 401:
            headers["WWW-Authenticate"] = _header("WWW-Authenticate", required=True)
        if status == 429:
            headers["Retry-After"] = _header("Retry-After", required=True)
        if self.rate_limited:
            headers.update(_rate_limit_headers(required=status == 429))
        return headers

    def _security_components(self) -> None:
        schemes: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            for found in route.target.authenticators.values():
                schemes.update(_security_scheme(a) for a in found)
        for name, scheme in schemes.items():
            self.spec.components.security_scheme(name, scheme)

    def _parameter_components(self) -> None:
        headers = {**_REQUEST_HEADERS, self.site.idempotency.header: self._idempotency_parameter()}
        for name, header in headers.items():
            self.spec.components.parameter(name, "header", header, lazy=True)

    def _idempotency_parameter(self) -> dict[str, Any]:
        return {
            "description": "Makes a retry safe: a repeated request with the same key and body "
                           "gets the first response again (`Idempotent-Replayed: true`); the "
                           "same key with another body is `422`, one still running `409`.",
            "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
        }

    # -- operations ---------------------------------------------------------------------------

    def _operations(self, route: Route) -> dict[str, Any]:
        methods = [*route.target.handlers, "OPTIONS"]
        return {m.lower(): self._operation(route, m) for m in methods}

    def _operation(self, route: Route, method: str) -> dict[str, Any]:
        endpoint = route.target
        handler = endpoint.handlers.get(method)
        operation: dict[str, Any] = {
            "operationId": f"{route.name}.{method.lower()}",
            "tags": [route.name],
            **_summary(handler.__doc__ if handler else None, _default_summary(route, method)),
        }
        if method == "HEAD":
            operation["summary"] = f"Headers only: {operation['summary']}"
        parameters = self._parameters(endpoint, method)
        if parameters:
            operation["parameters"] = parameters
        if method in BODY_METHODS:
            operation["requestBody"] = self._request_body(endpoint, method)
        operation["responses"] = self._responses(route, method)
        security = _security(endpoint.authenticators.get(method, ()))
        if security:
            operation["security"] = security
        return operation

    def _parameters(self, endpoint: Endpoint, method: str) -> list[dict[str, Any] | str]:
        parameters: list[dict[str, Any] | str] = []
        if method in SAFE_METHODS and endpoint.query_schema is not None:
            parameters += self._query_parameters(endpoint.query_schema)
        return parameters + self._header_names(endpoint, method)  # names: apispec refs them

    def _header_names(self, endpoint: Endpoint, method: str) -> list[str]:
        names = []
        if method in SAFE_METHODS:
            names.append("If-None-Match")  # every GET has an ETag, made from its body if need be
            if endpoint.last_modified:
                names.append("If-Modified-Since")
        if method in CONDITIONAL_WRITES and _conditional(endpoint):
            names.append("If-Match")
            if method == "PUT" and endpoint.has_validators:
                names.append("If-None-Match")
            if endpoint.last_modified:
                names.append("If-Unmodified-Since")
        if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
            names.append(self.site.idempotency.header)
        if method in BODY_METHODS:
            names.append("Prefer")
        return names

    def _query_parameters(self, schema: Schema) -> list[dict[str, Any]]:
        parameters = self.plugin.converter.schema2parameters(schema, location="query")
        for parameter in parameters:
            parameter["schema"] = _without_null(parameter.get("schema", {}))
        return parameters

    def _request_body(self, endpoint: Endpoint, method: str) -> dict[str, Any]:
        schema = endpoint.input_schema
        if schema is None:
            return {"required": False, "content": {t: {} for t in self.request_types}}
        if method == "PATCH":
            schema = _partial(schema)
        ref = self.plugin.converter.resolve_nested_schema(schema)
        description = "Only the fields to change." if method == "PATCH" else None
        body = {"required": True, "content": self._content(ref, self.request_types)}
        return {**body, "description": description} if description else body

    # -- responses ----------------------------------------------------------------------------

    def _responses(self, route: Route, method: str) -> dict[str, Any]:
        responses = self._successes(route, method)
        for status in sorted(self._problem_statuses(route, method)):
            responses[str(status)] = _PROBLEMS[status][0]  # a name: apispec refs it
        return responses

    def _successes(self, route: Route, method: str) -> dict[str, Any]:
        endpoint = route.target
        if method == "OPTIONS":
            allow = {"Allow": _header("Allow", required=True)}
            return {"204": _described("The methods the resource supports, in `Allow`.", allow)}
        if method in SAFE_METHODS:
            return self._read(endpoint, method)
        if method == "DELETE":
            return {"204": _described("Deleted.", self._write_headers(endpoint, method))}
        if method == "POST":
            return {"201": self._created(endpoint)}
        return self._replaced(endpoint, method)

    def _created(self, endpoint: Endpoint) -> dict[str, Any]:
        headers = {"Location": _header("Location", required=True),
                   **self._write_headers(endpoint, "POST")}
        text = "Created; the body is left out under `Prefer: return=minimal`."
        return {**_described(text, headers), "content": self._output(endpoint, many=False)}

    def _replaced(self, endpoint: Endpoint, method: str) -> dict[str, Any]:
        """``PUT``/``PATCH``: the new state, or nothing where ``Prefer`` asked for no body."""
        written = self._write_headers(endpoint, method)
        headers = {**self._validator_headers(endpoint, required=False), **written}
        done = _described("The resource as it now is.", headers)
        minimal = _described("Done, and `Prefer: return=minimal` asked for no body.", headers)
        return {"200": {**done, "content": self._output(endpoint, many=False)}, "204": minimal}

    def _read(self, endpoint: Endpoint, method: str) -> dict[str, Any]:
        many = _returns_many(endpoint.handlers[method])
        headers = self._validator_headers(endpoint, required=True)
        if many is not False:
            headers["Link"] = _header("Link")
        headers.update(self._rate_headers(endpoint))
        text = "The representation." if method == "GET" else "The headers a `GET` would send."
        ok = _described(text, headers)
        not_modified = _described(
            "Not modified: the client's copy (`If-None-Match`, `If-Modified-Since`) is current.",
            {**self._validator_headers(endpoint, required=True), **self._rate_headers(endpoint)},
        )
        return {"200": {**ok, "content": self._output(endpoint, many)}, "304": not_modified}

    def _validator_headers(self, endpoint: Endpoint, *, required: bool) -> dict[str, Any]:
        """``ETag`` is on every ``GET`` (made from the body where the resource has no ``etag``)."""
        headers: dict[str, Any] = {}
        if required or endpoint.etag:
            headers["ETag"] = _header("ETag", required=required)
        if endpoint.last_modified:
            headers["Last-Modified"] = _header("Last-Modified")
        if required and endpoint.cache_control:
            headers["Cache-Control"] = _header("Cache-Control", required=True)
        return headers

    def _write_headers(self, endpoint: Endpoint, method: str) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
            headers["Idempotent-Replayed"] = _header("Idempotent-Replayed")
        if method in BODY_METHODS:
            headers["Preference-Applied"] = _header("Preference-Applied")
        return {**headers, **self._rate_headers(endpoint)}

    @staticmethod
    def _rate_headers(endpoint: Endpoint) -> dict[str, Any]:
        return _rate_limit_headers(required=True) if endpoint.rate_limit is not None else {}

    def _output(self, endpoint: Endpoint, many: bool | None) -> dict[str, Any]:
        schema = endpoint.output_schema
        if schema is None:
            return self._content({}, self.response_types)
        ref = self.plugin.converter.resolve_nested_schema(schema)
        array = {"type": "array", "items": ref,
                 "xml": {"name": xml_plural(schema), "wrapped": True}}
        if many is None:
            return self._content({"oneOf": [ref, array]}, self.response_types)
        return self._content(array if many else ref, self.response_types)

    def _content(self, schema: dict[str, Any], media_types: Iterable[str]) -> dict[str, Any]:
        """The schema for the JSON and XML types; other formats (HTML) are described by name."""
        return {t: {"schema": schema} if _structured(t) else {} for t in media_types}

    def _problem_statuses(self, route: Route, method: str) -> set[int]:
        endpoint = route.target
        has_fields = any(s.name for s in route.segments)
        if method == "OPTIONS":
            return {404} if has_fields else set()
        statuses = {406}
        if has_fields:
            statuses.add(404)
        if method in SAFE_METHODS and endpoint.query_schema is not None:
            statuses.add(400)
        if method in BODY_METHODS:
            statuses |= {400, 413, 415, 422}
        statuses |= _guard_statuses(endpoint, method)
        if method in CONDITIONAL_WRITES and _conditional(endpoint):
            statuses.add(412)
            if endpoint.require_preconditions:
                statuses.add(428)
        if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
            statuses |= {400, 409, 422}
        return statuses

    # -- XML ----------------------------------------------------------------------------------

    def _xml(self, schemas: dict[str, Any]) -> None:
        """Name each component's element as the site does, and wrap list fields in ``<item>``s."""
        names = {name: key[0] for key, name in self.plugin.converter.refs.items()}
        for name, schema in schemas.items():
            if name not in names:  # Problem: RFC 9457 appendix B has its own mapping
                continue
            schema["xml"] = {"name": xml_name(names[name])}
            for key, prop in schema.get("properties", {}).items():
                schema["properties"][key] = _xml_property(key, prop)


# -- helpers ----------------------------------------------------------------------------------


def _hidden(route: Route) -> bool:
    return bool(getattr(route.target.resource, "_openapi_hidden", False))


def _parses(handler: MediaHandler) -> bool:
    """Whether the handler reads request bodies: it overrides `MediaHandler.parse` and does not
    say ``parses = False`` (as the HTML handler, whose ``parse`` refuses with 415)."""
    overrides = type(handler).parse is not MediaHandler.parse
    return overrides and getattr(handler, "parses", True) is not False


def _structured(media_type: str) -> bool:
    subtype = media_type.partition("/")[2]
    return subtype in ("json", "xml") or subtype.endswith(("+json", "+xml"))


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _path(route: Route) -> str:
    """The template with bare ``{name}`` fields, as OpenAPI writes them."""
    return "/" + "/".join(
        s.literal if s.converter is None else f"{{{s.name}}}" for s in route.segments
    )


def _path_parameters(route: Route) -> list[dict[str, Any]]:
    parameters = []
    for segment in route.segments:
        if segment.converter is None:
            continue
        kind = segment.converter.name
        parameter = {"name": segment.name, "in": "path", "required": True,
                     "schema": dict(_PATH_FIELDS.get(kind, {"type": "string"}))}
        if kind in _PATH_NOTES:
            parameter["description"] = _PATH_NOTES[kind]
        parameters.append(parameter)
    return parameters


def _summary(doc: str | None, default: str | None = None) -> dict[str, str]:
    """``summary`` (plain text) from a docstring's first paragraph, ``description`` (CommonMark,
    where reST's double backticks become single ones) from the rest."""
    text = inspect.cleandoc(doc) if doc else ""
    first, _, rest = text.partition("\n\n")
    summary = " ".join(first.replace("`", "").split()) or default
    result = {"summary": summary} if summary else {}
    if rest.strip():
        result["description"] = rest.strip().replace("``", "`")
    return result


_VERBS = {"GET": "Read", "HEAD": "Read", "POST": "Add to", "PUT": "Replace",
          "PATCH": "Update", "DELETE": "Delete", "OPTIONS": "Methods of"}


def _default_summary(route: Route, method: str) -> str:
    return f"{_VERBS.get(method, method)} {route.name}"


def _tag(route: Route) -> dict[str, str]:
    doc = type(route.target.resource).__doc__
    text = " ".join(inspect.cleandoc(doc).replace("``", "`").split()) if doc else ""
    return {"name": route.name, "description": text} if text else {"name": route.name}


def _schema_name(schema: type[Schema] | Schema) -> str:
    """The class name without ``Schema``; a partial (``PATCH``) variant ends in ``Patch``."""
    name = _class_name(schema)
    return f"{name}Patch" if getattr(schema, "partial", False) is True else name


def _partial(schema: Schema) -> Schema:
    """The same schema loading with ``partial=True``, as the site loads ``PATCH`` bodies."""
    variant = copy.copy(schema)
    variant.partial = True
    return variant


def _conditional(endpoint: Endpoint) -> bool:
    return endpoint.has_validators or endpoint.require_preconditions


def _guard_statuses(endpoint: Endpoint, method: str) -> set[int]:
    """401 with authentication (and for anonymous clients a permission refuses), 403, 429."""
    statuses = set()
    every = any(endpoint.authenticators.values())
    if endpoint.authenticators.get(method) or (endpoint.permissions and every):
        statuses.add(401)
    if endpoint.permissions:
        statuses.add(403)
    if endpoint.rate_limit is not None:
        statuses.add(429)
    return statuses


def _described(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    """A response object; ``headers`` only where there are some."""
    return {"description": description, "headers": headers} if headers else {
        "description": description
    }


def _header(name: str, *, required: bool = False) -> dict[str, Any]:
    header = dict(_HEADERS[name])
    if required:
        header["required"] = True
    return header


def _rate_limit_headers(*, required: bool) -> dict[str, Any]:
    return {name: _header(name, required=required) for name in ("RateLimit", "RateLimit-Policy")}


def _security_scheme(authenticator: auth.Authenticator) -> tuple[str, dict[str, Any]]:
    if isinstance(authenticator, auth.Bearer):
        return "bearerAuth", {"type": "http", "scheme": "bearer"}
    if isinstance(authenticator, auth.Basic):
        return "basicAuth", {"type": "http", "scheme": "basic"}
    if isinstance(authenticator, auth.APIKey):
        name = "apiKey" if authenticator.header == "X-API-Key" else f"apiKey-{authenticator.header}"
        return name, {"type": "apiKey", "in": "header", "name": authenticator.header}
    scheme = authenticator.scheme or type(authenticator).__name__
    return f"{scheme.lower()}Auth", {"type": "http", "scheme": scheme.lower()}


def _security(authenticators: Iterable[auth.Authenticator]) -> list[dict[str, list[str]]]:
    """Any one of the authenticators will do: one requirement object each."""
    names = _unique(_security_scheme(a)[0] for a in authenticators)
    return [{name: []} for name in names]


def _problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details; extension members are allowed, as the site adds some."""
    return {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference", "examples": ["about:blank"]},
            "title": {"type": "string", "examples": ["Not Found"]},
            "status": {"type": "integer", "minimum": 100, "maximum": 599, "examples": [404]},
            "detail": {"type": "string", "examples": ["no resource at this address"]},
            "instance": {"type": "string", "format": "uri-reference"},
            "errors": {
                "type": "object",
                "description": "Each field path and its messages.",
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "string", "xml": {"name": "i"}},
                    "xml": {"wrapped": True},
                },
            },
        },
        "required": ["type", "title", "status"],
        "xml": {"name": "problem", "namespace": "urn:ietf:rfc:7807"},
    }


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema less ``null``, which a query string cannot carry."""
    schema = dict(schema)
    kinds = schema.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        rest = [k for k in kinds if k != "null"]
        schema["type"] = rest[0] if len(rest) == 1 else rest
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def _is_array(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "array" or (isinstance(kinds, list) and "array" in kinds)


def _unref(schema: dict[str, Any]) -> dict[str, Any]:
    """``$ref`` moved into ``allOf``, so ``xml`` beside it is not overridden by the target's."""
    if "$ref" not in schema:
        return dict(schema)
    rest = {k: v for k, v in schema.items() if k != "$ref"}
    return {"allOf": [{"$ref": schema["$ref"]}], **rest}


def _xml_property(key: str, prop: dict[str, Any]) -> dict[str, Any]:
    """A property's element is named by its key; a list is wrapped, one ``<item>`` each."""
    if "$ref" in prop or "anyOf" in prop or "oneOf" in prop:  # a nested schema, maybe nullable
        prop = {**_unref(prop), "xml": {"name": key}}
    if _is_array(prop):
        prop = {**prop, "xml": {**prop.get("xml", {}), "wrapped": True}}
        prop["items"] = _xml_item(prop.get("items", {}))
    values = prop.get("additionalProperties")
    if isinstance(values, dict):
        prop = {**prop, "additionalProperties": _xml_value(values)}
    return prop


def _xml_item(items: dict[str, Any]) -> dict[str, Any]:
    items = {**_unref(items), "xml": {"name": "item"}}
    if _is_array(items):
        items["xml"]["wrapped"] = True
        items["items"] = _xml_item(items.get("items", {}))
    return items


def _xml_value(values: dict[str, Any]) -> dict[str, Any]:
    """A mapping's value: its element is named by its key, so no component name may win."""
    values = _unref(values)
    if _is_array(values):
        values["xml"] = {**values.get("xml", {}), "wrapped": True}
        values["items"] = _xml_item(values.get("items", {}))
    return values


# -- return annotations -----------------------------------------------------------------------

_MANY = frozenset({"list", "tuple", "List", "Tuple", "Sequence", "MutableSequence", "Page"})
_EITHER = frozenset({"Any", "object", "Result", "Created", "Response", "Optional", "Union"})


def _returns_many(handler: Any) -> bool | None:
    """True for a handler annotated as returning a list, False for an object, None unknown."""
    try:
        annotation = inspect.signature(handler).return_annotation
    except (TypeError, ValueError):
        return None
    if annotation is inspect.Signature.empty or annotation is None:
        return None
    if isinstance(annotation, str):
        if "|" in annotation:
            return None
        name = annotation.split("[", 1)[0].rsplit(".", 1)[-1].strip()
    else:
        origin = typing.get_origin(annotation) or annotation
        name = getattr(origin, "__name__", "") or getattr(origin, "_name", "") or ""
        if typing.get_origin(annotation) is typing.Union or "|" in repr(annotation):
            return None
    if name in _MANY:
        return True
    if not name or name in _EITHER or name == "None":
        return None
    return False
