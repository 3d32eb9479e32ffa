"""Rows as a collection represents them: whole, or as a sparse fieldset with the related rows
``expand`` asked for.

A sparse row is a `Sparse` dict of the chosen members; the collection's output schema is a
`Listed` variant of its schema that dumps a page of them with ``only`` those members (a
variant made once per choice), so a ``dump_default`` or an expandable relationship is not
added to a row that did not ask for it. Its members are not required, since ``fields`` may
leave any out: the OpenAPI document says so, and a client checking a sparse row against it
finds it valid. JSON, XML and HTML all render what the schema dumped.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields

from ..media.xml import xml_name, xml_plural
from ..memo import Memo
from ..schemas import SchemaLike, resolve
from .model import Model

__all__ = ["Listed", "Sparse", "listed_schema"]


class Sparse(dict[str, Any]):
    """A row's chosen members, by attribute; ``members`` names their schema fields."""

    __slots__ = ("members",)

    def __init__(self, values: dict[str, Any], members: frozenset[str]) -> None:
        super().__init__(values)
        self.members = members


class Listed(Schema):
    """A schema that dumps `Sparse` rows with only their members."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._variants: Memo[frozenset[str], Schema] = Memo(64)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else many
        first = obj[0] if many and obj else obj
        if self.only is None and isinstance(first, Sparse):
            return self._variant(first.members).dump(obj, many=many)
        return super().dump(obj, many=many)

    def _variant(self, members: frozenset[str]) -> Schema:
        found = self._variants.get(members)
        if found is None:
            ordered = [name for name in self.declared_fields if name in members]  # a set's
            found = self._variants.keep(members, type(self)(only=ordered))  # order is random
        return found


def listed_schema(model: Model, expand: Mapping[str, SchemaLike]) -> type[Schema]:
    """The output schema of a collection: its schema's members, none required, with a nested
    member for each expandable relationship, dumping `Sparse` rows; its XML elements keep the
    schema's names."""
    schema = model.schema
    base = type(schema)
    members: dict[str, Any] = {
        name: _optional(field) for name, field in schema.declared_fields.items() if field.required
    }
    members.update({
        name: fields.Nested(
            _schema(related), dump_only=True, many=bool(model.relationships[name].uselist)
        )
        for name, related in expand.items()
        if name in model.relationships
    })
    meta = type("Meta", (base.Meta,), {"xml_name": xml_name(base), "xml_plural": xml_plural(base)})
    name = base.__name__.removesuffix("Schema") + ("Expanded" if expand else "Listed")
    return type(f"{name}Schema", (Listed, base), {**members, "Meta": meta})


def _optional(field: fields.Field[Any]) -> fields.Field[Any]:
    found = copy.deepcopy(field)
    found.required = False
    return found


def _schema(related: SchemaLike) -> Schema:
    schema = resolve(related)
    if schema is None:
        raise TypeError("expand maps each relationship to a marshmallow Schema")
    return schema
