"""The bridge to marshmallow: schemas resolved once; bodies and query strings loaded by them."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from webob.multidict import MultiDict

from . import errors

__all__ = ["SchemaLike", "load_body", "load_query", "resolve"]

SchemaLike = type[Schema] | Schema | None


def resolve(schema: SchemaLike) -> Schema | None:
    """An instance for a schema class or instance; instances are shared, so build them once."""
    if schema is None or isinstance(schema, Schema):
        return schema
    if isinstance(schema, type) and issubclass(schema, Schema):
        return schema()
    raise TypeError(f"expected a marshmallow Schema class or instance, got {schema!r}")


def load_body(schema: Schema | None, data: Any, *, partial: bool = False) -> Any:
    """Validate a parsed body; a rejection is a 422 listing every field's messages."""
    if schema is None:
        return data
    if not isinstance(data, dict | Mapping):  # dict first: the ABC check is slow
        raise errors.UnprocessableContent(
            "the body must be an object", errors={"_schema": ["Invalid input type."]}
        )
    # only PATCH passes ``partial``: marshmallow is slower with ``partial=False`` than without
    options = {"partial": True} if partial else {}
    return _load(schema, data, errors.UnprocessableContent, "the body", **options)


def load_query(schema: Schema | None, params: MultiDict) -> Any:
    """Validate the query string; parameters the schema does not name are ignored.

    A list field takes every occurrence of its parameter (``?tag=a&tag=b``). A rejected query is a
    400: the query belongs to the target URI, not to content the client sent.
    """
    if schema is None:
        return params.mixed()
    takes_many = _query_fields(schema)
    data: dict[str, Any] = {}
    for key, value in params.items():  # the schema's parameters only
        many = takes_many.get(key)
        if many:
            data.setdefault(key, []).append(value)
        elif many is not None:
            data[key] = value  # a repeated single parameter: the last one counts
    # nothing unknown is left, but EXCLUDE spares marshmallow looking for it
    return _load(schema, data, errors.BadRequest, "the query string", unknown=EXCLUDE)


@functools.lru_cache(maxsize=256)
def _query_fields(schema: Schema) -> dict[str, bool]:
    """Each loadable field's parameter name, and whether it takes every occurrence."""
    return {
        field.data_key or name: isinstance(field, fields.List)
        for name, field in schema.fields.items()
        if not field.dump_only
    }


def _load(
    schema: Schema, data: Any, error: type[errors.HTTPError], what: str, **options: Any
) -> Any:
    """``schema.load``, its rejection an ``error`` listing every field's messages."""
    try:
        return schema.load(data, **options)
    except ValidationError as exc:
        raise error(
            f"{what} does not match the schema", errors=errors.flatten_messages(exc.messages)
        ) from None
