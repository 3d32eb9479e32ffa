"""Schema components: names, the ``PATCH`` variant, the problem schema, examples, and the XML
mapping the site's XML handler follows."""

from __future__ import annotations

import copy
from typing import Any

from apispec.ext.marshmallow import resolver as _class_name
from marshmallow import Schema

from ..media.xml import xml_name

__all__ = ["XSI_NIL", "components", "examples", "partial", "problem_schema", "schema_name"]

XSI_NIL = (
    'In XML, a `null` member is an empty element with `xsi:nil="true"` (`xsi` being '
    "`http://www.w3.org/2001/XMLSchema-instance`)."
)
"""What OpenAPI's ``xml`` object cannot say, told in the description of schemas with nulls."""


def schema_name(schema: type[Schema] | Schema) -> str:
    """The class name without ``Schema``; a partial (``PATCH``) variant ends in ``Patch``."""
    name: str = _class_name(schema if isinstance(schema, type) else type(schema))
    return f"{name}Patch" if getattr(schema, "partial", False) is True else name


def partial(schema: Schema) -> Schema:
    """The same schema loading with ``partial=True``, as the site loads ``PATCH`` bodies."""
    variant = copy.copy(schema)
    variant.partial = True
    return variant


def examples(prop: dict[str, Any]) -> dict[str, Any]:
    """A field's ``metadata={"example": ...}`` as JSON Schema's ``examples`` (OpenAPI 3.1
    deprecates a schema's ``example``); ``metadata={"examples": [...]}`` passes as it is."""
    if "example" not in prop:
        return prop
    rest = {k: v for k, v in prop.items() if k != "example"}
    return {**rest, "examples": [*rest.get("examples", ()), prop["example"]]}


def components(schemas: dict[str, Any], classes: dict[str, type[Schema]]) -> None:
    """Give each component of a marshmallow schema (``classes``, by component name) its XML
    element name, examples and list wrapping, and tell how XML writes ``null``."""
    for name, schema in schemas.items():
        if name not in classes:  # Problem: RFC 9457 appendix B has its own mapping
            continue
        schema["xml"] = {"name": xml_name(classes[name])}
        properties = schema.get("properties", {})
        for key, prop in properties.items():
            properties[key] = _xml_property(key, examples(prop))
        if any(_nullable(prop) for prop in properties.values()):
            described = schema.get("description")
            schema["description"] = f"{described}\n\n{XSI_NIL}" if described else XSI_NIL


def problem_schema() -> dict[str, Any]:
    """RFC 9457 problem details; extension members are allowed, as the site adds some. Each
    problem response has its own example."""
    return {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference", "examples": ["about:blank"]},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 100, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "format": "uri-reference"},
            "available": _strings("`406`: the media types the resource has."),
            "accepted": _strings("`415`: the media types the site reads."),
            "versions": _strings("`400`: the API versions the site has."),
            "error": {"type": "string", "description": "`401`: the RFC 6750 error code.",
                      "enum": ["invalid_request", "invalid_token"]},
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


def _strings(description: str) -> dict[str, Any]:
    """A list member of a problem: RFC 9457 appendix B writes each item as ``<i>``."""
    return {"type": "array", "description": description,
            "items": {"type": "string", "xml": {"name": "i"}}, "xml": {"wrapped": True}}


def _nullable(prop: dict[str, Any]) -> bool:
    kinds = prop.get("type")
    branches = prop.get("anyOf", []) + prop.get("oneOf", [])
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or any(
        _nullable(branch) for branch in branches
    )


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
