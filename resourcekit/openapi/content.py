"""Bodies: the media types the site reads and writes, and the schema of each."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..fields import File
from ..media.formdata import FORM_TYPES as FORMS
from ..media.xml import xml_plural
from ..patch import JSON_PATCH, MERGE_PATCH
from .returns import Shape
from .schemas import partial

if TYPE_CHECKING:
    from apispec.ext.marshmallow.openapi import OpenAPIConverter
    from marshmallow import Schema

    from ..endpoint import Endpoint
    from ..site import Site

__all__ = ["Media", "file_attributes"]

_JSON_PATCH_SCHEMA = {
    "type": "array",
    "description": "RFC 6902 operations, applied to the current representation.",
    "items": {
        "type": "object",
        "required": ["op", "path"],
        "properties": {
            "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string", "description": "a JSON Pointer (RFC 6901)"},
            "from": {"type": "string"},
            "value": {},
        },
    },
}


@dataclass(frozen=True)
class Media:
    """The site's media types, and the schemas (through ``converter``) of the bodies in them;
    what a route answers in is its endpoint's (`resourcekit.endpoint.Endpoint.negotiator`)."""

    converter: OpenAPIConverter
    requests: list[str]
    """The body types described: every one the site reads but the form types, which are the
    browsable page's (a schema for a JSON client may refuse a form's text, as a strict number
    field does), except ``multipart/form-data`` for a schema with a `File` field."""
    problems: list[str]
    uploads: bool = False
    """Whether the site reads ``multipart/form-data``."""
    view: Callable[[Schema], Schema] | None = None
    """A schema as one API version names its fields (`resourcekit.openapi.versions`)."""

    @classmethod
    def of(
        cls,
        site: Site,
        converter: OpenAPIConverter,
        view: Callable[[Schema], Schema] | None = None,
    ) -> Media:
        handlers = site.negotiator.handlers
        problems = [h.problem_type for h in handlers if h.problem_type]
        return cls(
            converter,
            requests=[t for t in site.negotiator.accepted if t not in FORMS],
            uploads=FORMS[1] in site.negotiator.accepted,
            problems=list(dict.fromkeys(problems)) or [handlers[0].media_types[0]],
            view=view,
        )

    def content(
        self, schema: dict[str, Any], media_types: Iterable[str], **extra: Any
    ) -> dict[str, Any]:
        """``schema`` (and ``extra``, such as ``example``) for the JSON and XML types; other
        formats (HTML) are described by name."""
        return {t: {"schema": schema, **extra} if _structured(t) else {} for t in media_types}

    def ref(self, schema: Schema) -> dict[str, Any]:
        """The ``$ref`` of ``schema``'s component, registering it on first use."""
        found: dict[str, Any] = self.converter.resolve_nested_schema(schema)  # type: ignore[no-untyped-call]
        return found

    def output(self, endpoint: Endpoint, shapes: frozenset[Shape]) -> dict[str, Any]:
        """The response body: one object, an array of them, or ``oneOf`` both."""
        schema = self._seen(endpoint.output_schema)
        types = list(endpoint.negotiator.offers)  # the site's, and the resource's own
        if schema is None:
            return self.content({}, types)
        one = self.ref(schema)
        many = {"type": "array", "items": one, "xml": {"name": xml_plural(schema), "wrapped": True}}
        if Shape.OBJECT in shapes and Shape.ARRAY in shapes:
            return self.content({"oneOf": [one, many]}, types)
        return self.content(many if Shape.ARRAY in shapes else one, types)

    def request_body(self, endpoint: Endpoint, method: str) -> dict[str, Any]:
        """The body the input schema loads (``partial`` for ``PATCH``), in every type read; only
        ``multipart/form-data``, with each file part's types, where the schema has a `File`
        field. A ``PATCH`` of a resource
        with ``GET`` also takes JSON Merge Patch and JSON Patch (`resourcekit.patch`)."""
        schema = self._seen(endpoint.input_schema)
        if schema is None:
            return {"required": False, "content": {t: {} for t in self.requests}}
        ref = self.ref(partial(schema) if method == "PATCH" else schema)
        uploads = _files(schema)
        if uploads and self.uploads:  # only multipart can carry a file
            content = {FORMS[1]: {"schema": ref, "encoding": uploads}}
        else:
            content = self.content(ref, self.requests)
        if method == "PATCH" and "GET" in endpoint.handlers and not uploads:
            content[MERGE_PATCH] = {"schema": ref}
            content[JSON_PATCH] = {"schema": _JSON_PATCH_SCHEMA}
        body = {"required": True, "content": content}
        return {**body, "description": "Only the fields to change."} if method == "PATCH" else body


    def query_body(self, endpoint: Endpoint) -> dict[str, Any]:
        """A ``QUERY`` body: what ``query_schema`` loads, in every type read."""
        schema = self._seen(endpoint.query_schema)
        if schema is None:
            return {"required": True, "content": {t: {} for t in self.requests}}
        return {"required": True, "content": self.content(self.ref(schema), self.requests)}

    def _seen(self, schema: Schema | None) -> Schema | None:
        """``schema`` as the document's API version names its fields."""
        return self.view(schema) if self.view is not None and schema is not None else schema


def _structured(media_type: str) -> bool:
    """Whether a body of ``media_type`` is described by a schema: JSON, XML and form bodies."""
    subtype = media_type.partition("/")[2]
    return (
        subtype in ("json", "xml") or subtype.endswith(("+json", "+xml")) or media_type in FORMS
    )


def _files(schema: Schema) -> dict[str, dict[str, str]]:
    """The ``encoding`` of a multipart body's file parts: a body with a `File` field can only
    be ``multipart/form-data``, JSON and XML cannot carry one."""
    found = {}
    for name, field in schema.load_fields.items():
        if isinstance(field, File):
            types = field.content_types or ("application/octet-stream",)
            found[field.data_key or name] = {"contentType": ", ".join(types)}
    return found


def file_attributes(self: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """A `File` field's JSON Schema (an apispec attribute function): a string of binary
    content, as OpenAPI 3.1 describes a multipart file part."""
    if not isinstance(field, File):
        return {}
    types = field.content_types or ()
    exact = [t for t in types if not t.endswith("/*")]
    media = {"contentMediaType": exact[0]} if len(exact) == 1 and len(types) == 1 else {}
    return {"type": "string", "format": "binary", **media}
