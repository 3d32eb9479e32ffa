"""Parameters: path fields from the template, the query string from ``query_schema``, and the
request headers the site acts on (shared components, referenced by name)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..methods import (
    BODY_METHODS,
    CONDITIONAL_WRITES,
    IDEMPOTENCY_KEYED,
    QUERY_STRING_READS,
    SAFE_METHODS,
)
from ..routing import MAX_INT
from .schemas import examples

if TYPE_CHECKING:
    from apispec import APISpec
    from apispec.ext.marshmallow.openapi import OpenAPIConverter
    from marshmallow import Schema

    from ..endpoint import Endpoint
    from ..routing import Route

__all__ = ["Parameters", "path_parameters", "query_description"]

_PATH_FIELDS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "uuid": {"type": "string", "format": "uuid"},
    "str": {"type": "string", "minLength": 1},
    "path": {"type": "string", "minLength": 1},
}
_PATH_NOTES = {"path": "The rest of the path; it may contain `/`."}

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

_IDEMPOTENCY_KEY = {
    "description": "Makes a retry safe: a repeated request with the same key and body gets the "
                   "first response again (`Idempotent-Replayed: true`); the same key with another "
                   "body is `422`, one still running `409`.",
    "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
}


class Parameters:
    """The parameters of each operation; request headers are components named by header."""

    def __init__(
        self,
        converter: OpenAPIConverter,
        idempotency_header: str,
        version_header: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        self.converter = converter
        self.idempotency_header = idempotency_header
        self.version_header = version_header
        """The API version header's name and parameter, on a site with versions."""

    def components(self, spec: APISpec) -> None:
        """Register the request headers, written only where an operation names them."""
        headers = {**_REQUEST_HEADERS, self.idempotency_header: _IDEMPOTENCY_KEY}
        if self.version_header is not None:
            headers[self.version_header[0]] = self.version_header[1]
        for name, header in headers.items():
            spec.components.parameter(name, "header", header, lazy=True)

    def of(self, endpoint: Endpoint, method: str) -> list[dict[str, Any] | str]:
        """The query (for reads) and the request headers; a name is a component's, which
        apispec turns into a ``$ref``."""
        parameters: list[dict[str, Any] | str] = []
        if method in QUERY_STRING_READS and endpoint.query_schema is not None:
            parameters += self.query(endpoint.query_schema)
        return parameters + self._header_names(endpoint, method)

    def query(self, schema: Schema) -> list[dict[str, Any]]:
        """One parameter per field, without ``null``: a query string cannot carry one."""
        parameters: list[dict[str, Any]] = self.converter.schema2parameters(
            schema, location="query"
        )
        for parameter in parameters:
            parameter["schema"] = examples(_without_null(parameter.get("schema", {})))
        return parameters

    def _header_names(self, endpoint: Endpoint, method: str) -> list[str]:
        names = []
        if method in SAFE_METHODS:
            names.append("If-None-Match")  # every GET has an ETag, made from its body if need be
            if endpoint.last_modified:
                names.append("If-Modified-Since")
        if method in CONDITIONAL_WRITES and conditional(endpoint):
            names.append("If-Match")
            if method == "PUT" and endpoint.has_validators:
                names.append("If-None-Match")
            if endpoint.last_modified:
                names.append("If-Unmodified-Since")
        if method in IDEMPOTENCY_KEYED and endpoint.idempotent:
            names.append(self.idempotency_header)
        if method in BODY_METHODS:
            names.append("Prefer")
        if self.version_header is not None:
            names.append(self.version_header[0])
        return names


def conditional(endpoint: Endpoint) -> bool:
    """Whether writes to ``endpoint`` honour (or require) preconditions."""
    return endpoint.has_validators or endpoint.require_preconditions


def path_parameters(route: Route[Any]) -> list[dict[str, Any]]:
    """One required parameter per template field, typed by its converter."""
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


def query_description(schema: Schema | None) -> str | None:
    """What a query schema declares of its parameters together (``Meta.description``), such as
    a rule between two of them, which no single parameter's schema can say."""
    text = getattr(getattr(schema, "Meta", None), "description", None)
    return text if isinstance(text, str) and text.strip() else None


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    kinds = schema.get("type")
    if isinstance(kinds, list) and "null" in kinds:
        rest = [k for k in kinds if k != "null"]
        schema["type"] = rest[0] if len(rest) == 1 else rest
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema
