"""What a resource's declarations say of its model, worked out once per class: the columns,
the primary key, the version and modification columns, and the schema's fields for each."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, missing, validate
from sqlalchemy import exc
from sqlalchemy.orm import ColumnProperty, InstrumentedAttribute, Mapper, RelationshipProperty

from ..errors import ConfigurationError
from ..routing import MAX_INT

__all__ = ["Model", "field_for", "utc"]

_TYPES: dict[type, type[fields.Field[Any]]] = {
    bool: fields.Boolean,
    int: fields.Integer,
    float: fields.Float,
    decimal.Decimal: fields.Decimal,
    str: fields.String,
    dt.datetime: fields.DateTime,
    dt.date: fields.Date,
    dt.time: fields.Time,
    uuid.UUID: fields.UUID,
}


class Model:
    """A mapped class as a resource over it sees it: attributes by name, the primary key."""

    def __init__(
        self,
        owner: str,
        model: type,
        schema: Schema,
        version_column: str | None,
        modified_column: str | None,
    ) -> None:
        try:
            mapper: Mapper[Any] = sa.inspect(model)
        except exc.NoInspectionAvailable:
            raise ConfigurationError(
                f"{owner}.model must be a mapped class, not {model!r}"
            ) from None
        self.owner = owner
        self.cls = model
        self.mapper = mapper
        self.schema = schema
        self.columns: dict[str, InstrumentedAttribute[Any]] = {
            prop.key: getattr(model, prop.key)
            for prop in mapper.attrs
            if isinstance(prop, ColumnProperty)
        }
        self.relationships: dict[str, RelationshipProperty[Any]] = {
            prop.key: prop for prop in mapper.attrs if isinstance(prop, RelationshipProperty)
        }
        self.primary_key = tuple(
            getattr(model, mapper.get_property_by_column(c).key) for c in mapper.primary_key
        )
        self.version = self.columns.get(version_column) if version_column else None
        self.modified = self.columns.get(modified_column) if modified_column else None
        self.writable = tuple(
            attribute
            for name, field in schema.load_fields.items()
            if (attribute := field.attribute or name) in self.columns
        )
        """The columns the schema loads; other members it loads are validated, not stored."""

    def stored(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The members of a loaded body that are columns."""
        return {name: data[name] for name in self.writable if name in data}

    def column(self, name: str, what: str) -> InstrumentedAttribute[Any]:
        """The column attribute ``name``; a `ConfigurationError` naming ``what`` otherwise."""
        try:
            return self.columns[name]
        except KeyError:
            raise ConfigurationError(
                f"{self.owner}.{what} names {name!r}, which is not a column of"
                f" {self.cls.__name__} (its columns: {', '.join(self.columns)})"
            ) from None

    def field(self, name: str) -> fields.Field[Any]:
        """A loading field for column ``name``: the schema's (its validators, its format),
        else one made from the column's Python type."""
        by_attribute: Mapping[str, fields.Field[Any]] = {
            field.attribute or key: field for key, field in self.schema.fields.items()
        }
        found = by_attribute.get(name)
        if found is not None:
            return _loading(found)
        return field_for(self.columns[name])

    def key(self, row: Any) -> tuple[Any, ...]:
        """The primary key values of ``row``."""
        return tuple(getattr(row, column.key) for column in self.primary_key)


def utc(value: Any) -> Any:
    """An aware datetime in UTC, anything else as it is: SQLite keeps a datetime's wall time
    without its offset, so every value bound for a query or a row is in UTC first."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    return value


def field_for(column: InstrumentedAttribute[Any]) -> fields.Field[Any]:
    """A marshmallow field for a column without one in the schema, by its Python type."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    kind = next((f for t, f in _TYPES.items() if issubclass(python_type, t)), fields.String)
    if kind is fields.DateTime and getattr(column.type, "timezone", False):
        return fields.AwareDateTime()
    return _bounded(kind())


def _loading(field: fields.Field[Any]) -> fields.Field[Any]:
    """A copy of a schema field that loads an optional value under its own name."""
    found = copy.deepcopy(field)
    found.required = False
    found.dump_only = False
    found.load_only = False
    found.data_key = None
    found.attribute = None
    found.load_default = missing
    found.allow_none = False
    return _bounded(found)


def _bounded(field: fields.Field[Any]) -> fields.Field[Any]:
    """An integer field refusing what no database integer column holds (a 400, not a 500)."""
    if isinstance(field, fields.Integer):
        field.validators = [*field.validators, validate.Range(-MAX_INT - 1, MAX_INT)]
    return field
