"""Rows read and written with Core statements, as instances of the mapped class.

The ORM's loading (a session's identity map, an instrumented load per attribute, a statement
compiled from an entity) costs more than the query on a small table, so an `Item` reads and
writes its row with Core statements built once per route, whose compiled form SQLAlchemy
caches, and makes the instance from the result itself: detached, every column loaded, the
primary key as its identity, so ``request.session.add(row)`` or ``merge(row)`` attaches it
without a query. SQLite's naive ``DateTime(timezone=True)`` values are made aware (UTC)
here, as `Database.aware` does for what the ORM loads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapper, Session

from .model import Model

__all__ = ["Rows", "aware_columns"]

_WRITTEN = "resourcekit.sql.written"


def aware_columns(mapper: Mapper[Any]) -> list[str]:
    """The attributes of ``mapper`` that are ``DateTime(timezone=True)`` columns."""
    return [
        attr.key for attr in mapper.column_attrs
        if any(isinstance(c.type, sa.DateTime) and c.type.timezone for c in attr.columns)
    ]


class Rows:
    """The columns of one model as Core selects them, and its instances made from rows."""

    def __init__(self, model: Model, *, sqlite: bool) -> None:
        mapper = model.mapper
        self.mapper = mapper
        self.table = cast(sa.Table, mapper.local_table)
        """The table an INSERT, UPDATE or DELETE writes (a mapped class's own)."""
        self.selected = tuple(attr.label(name) for name, attr in model.columns.items())
        """Every column attribute, labelled with its attribute's name (a column's own name
        may differ)."""
        self.table_columns = {prop.key: prop.columns[0] for prop in mapper.column_attrs}
        """Each attribute's column, whose ``key`` names its value in an INSERT or UPDATE."""
        self._names = tuple(model.columns)
        self._primary_key = tuple(column.key for column in model.primary_key)
        self._aware = aware_columns(mapper) if sqlite else []
        self._new = mapper.class_manager.new_instance

    def instance(self, row: sa.Row[Any] | None) -> Any:
        """The instance of ``row`` (every column selected), or None."""
        if row is None:
            return None
        found = self._new()
        loaded = found.__dict__
        loaded.update(zip(self._names, row, strict=True))
        for name in self._aware:
            value = loaded[name]
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                loaded[name] = value.replace(tzinfo=dt.UTC)
        key = tuple([loaded[name] for name in self._primary_key])
        found._sa_instance_state.key = self.mapper.identity_key_from_primary_key(key)
        return found

    def remember(self, session: Session | None, row: Any) -> None:
        """Keep the row a write of this request returned, for what the site reads after the
        handler (the new validators): the row as it left it, with no query."""
        if session is not None:
            session.info.setdefault(_WRITTEN, {})[row._sa_instance_state.key] = row

    def written(self, session: Session | None, key: tuple[Any, ...]) -> Any:
        """The row with primary key ``key`` as this request's write left it, or None."""
        if session is None:
            return None
        kept = session.info.get(_WRITTEN)
        return kept and kept.get(self.mapper.identity_key_from_primary_key(key))

    def values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Attribute values keyed as an INSERT or UPDATE names their columns."""
        columns = self.table_columns
        return {columns[name].key: value for name, value in values.items()}
