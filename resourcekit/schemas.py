"""The bridge to marshmallow: schemas resolved once; bodies and query strings loaded by them."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from webob.multidict import MultiDict

from . import errors
from .memo import Memo

__all__ = ["SchemaLike", "collect", "load_body", "load_query", "resolve"]

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


def load_query(
    schema: Schema | None, query_string: str, params: Callable[[], MultiDict[str, str]]
) -> Any:
    """Validate the query string; parameters the schema does not name are ignored.

    A list field takes every occurrence of its parameter (``?tag=a&tag=b``). A rejected query is a
    400: the query belongs to the target URI, not to content the client sent. ``params`` gives
    the parsed parameters, asked for only when the answer is not already known: a query string
    loaded before through a schema whose answers cannot change (`_deterministic`) is answered
    from memory, as a fresh copy.
    """
    if schema is None:
        return params().mixed()
    key = (schema, query_string)
    known = _QUERIES.get(key)
    if known is not None:
        return _fresh(known)
    loaded = _load_params(schema, params())
    if len(query_string) <= _QUERY_REMEMBERED and _deterministic(schema):
        _QUERIES.keep(key, _fresh(loaded))
    return loaded


_QUERIES: Memo[tuple[Schema, str], dict[str, Any]] = Memo(1024)
_QUERY_REMEMBERED = 256  # longer query strings seldom repeat


def _fresh(loaded: dict[str, Any]) -> dict[str, Any]:
    """A copy the handler may change: lists are the only mutable values of such schemas."""
    return {k: list(v) if type(v) is list else v for k, v in loaded.items()}


def _load_params(schema: Schema, params: MultiDict[str, str]) -> Any:
    data = collect(schema, params.items())
    # nothing unknown is left, but EXCLUDE spares marshmallow looking for it
    return _load(schema, data, errors.BadRequest, "the query string", unknown=EXCLUDE)


def collect(
    schema: Schema, pairs: Iterable[tuple[str, Any]], *, unknown: bool = False
) -> dict[str, Any]:
    """Name and value pairs (a query string's, a form's) as the data ``schema.load`` takes: a
    list field takes every occurrence of its name, another field the last. Names the schema
    does not load are dropped, or kept with ``unknown``, for the schema to refuse them."""
    takes_many = _query_fields(schema)
    data: dict[str, Any] = {}
    for key, value in pairs:
        many = takes_many.get(key)
        if many:
            data.setdefault(key, []).append(value)
        elif many is not None or unknown:
            data[key] = value  # a repeated single parameter: the last one counts
    return data


@functools.lru_cache(maxsize=256)
def _query_fields(schema: Schema) -> dict[str, bool]:
    """Each loadable field's parameter name, and whether it takes every occurrence."""
    return {
        field.data_key or name: isinstance(field, fields.List)
        for name, field in schema.fields.items()
        if not field.dump_only
    }


_SCALARS = frozenset({
    fields.String, fields.Integer, fields.Float, fields.Decimal, fields.Boolean, fields.UUID,
    fields.DateTime, fields.NaiveDateTime, fields.AwareDateTime, fields.Date, fields.Time,
    fields.TimeDelta, fields.Email, fields.URL, fields.Enum, fields.IP, fields.IPv4, fields.IPv6,
})
_VALIDATORS: frozenset[type] = frozenset({
    validate.Range, validate.Length, validate.OneOf, validate.NoneOf, validate.Equal,
    validate.Regexp, validate.ContainsOnly, validate.ContainsNoneOf, validate.Email, validate.URL,
})
_LOADING = ("load", "_do_load", "_deserialize", "_invoke_field_validators", "_call_and_store")


@functools.lru_cache(maxsize=256)
def _deterministic(schema: Schema) -> bool:
    """Whether the same query string always loads to the same immutable values: marshmallow's
    own scalar fields (or lists of them) and validators, no hooks (``pre_load``, ``validates``
    and the like), no callable ``load_default``, loading not overridden. Anything else (a
    custom field, a lambda validator) may depend on the moment or the database: loaded anew."""
    cls = type(schema)
    if schema.many:
        return False
    hooks = getattr(cls, "_hooks", None)
    if hooks is None or any(hooks.values()):
        return False
    if any(getattr(cls, name, None) is not getattr(Schema, name) for name in _LOADING):
        return False
    return all(_plain(field) for field in schema.load_fields.values())


def _plain(field: fields.Field[Any]) -> bool:
    if type(field) is fields.List:
        inner = field.inner
        return type(inner) in _SCALARS and _plain_options(inner) and _plain_options(field)
    return type(field) in _SCALARS and _plain_options(field)


def _plain_options(field: fields.Field[Any]) -> bool:
    return not callable(field.load_default) and all(
        type(validator) in _VALIDATORS for validator in field.validators
    )


def _load(
    schema: Schema,
    data: Any,
    error: type[errors.BadRequest | errors.UnprocessableContent],
    what: str,
    **options: Any,
) -> Any:
    """``schema.load``, its rejection an ``error`` listing every field's messages."""
    try:
        return schema.load(data, **options)
    except ValidationError as exc:
        raise error(
            f"{what} does not match the schema", errors=errors.flatten_messages(exc.messages)
        ) from None
