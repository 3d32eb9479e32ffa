"""The query string of a collection's ``GET``, compiled once per class into a marshmallow
schema (which validates every value and documents every parameter in the OpenAPI document)
and the columns each parameter acts on.

``country=DE`` (repeated: any of them) and ``elevation_m[gte]=1000`` (``gt``, ``gte``, ``lt``,
``lte``) filter by declared columns, each value loaded by the schema's field for it;
``sort=-created_at,name`` orders by declared columns, ties broken by the primary key, a
NULL after every value (PostgreSQL's order, made SQLite's too, so cursors mean the same on
both);
``fields=id,name`` keeps those members; ``expand=station`` adds a declared relationship;
``limit``, ``offset`` and ``cursor`` choose the page.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from .. import errors
from ..errors import ConfigurationError
from ..memo import Memo
from ..request import Request
from ..routing import MAX_INT
from ..schemas import _plain
from .cursor import Cursor, CursorCodec
from .model import Model, utc

__all__ = ["RANGES", "Names", "Query", "QueryLanguage"]

RANGES = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
"""The range operators of a filter (``name[gte]=``) and the comparison each is."""
_REPEAT = re.compile(r"\.\d+$")
_REMEMBERED = 256
"""The longest query string whose query is remembered (longer ones seldom repeat)."""
_WORDS = {"gt": "above", "gte": "at least", "lt": "below", "lte": "at most"}


class Names(fields.List):  # type: ignore[type-arg]
    """A list of names, comma-separated (``sort=-a,b``) or repeated (``sort=-a&sort=b``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        given = value if isinstance(value, list) else [value]
        if not all(isinstance(item, str) for item in given):
            raise self.make_error("invalid")
        names = [name.strip() for item in given for name in item.split(",") if name.strip()]
        return super()._deserialize(names, attr, data, **kwargs)


@dataclass(frozen=True)
class Query:
    """One request's query, loaded: what to select, in which order, and which page."""

    where: tuple[Any, ...]
    order: tuple[tuple[str, bool], ...]
    """``(column name, descending)`` pairs, ending with the primary key's columns that the
    sort does not name."""
    limit: int
    offset: int | None
    cursor: Cursor | None
    fields: frozenset[str] | None
    expand: tuple[str, ...]


class QueryLanguage:
    """The parameters a collection declares, their schema, and how each becomes SQL."""

    def __init__(
        self,
        model: Model,
        *,
        filters: Sequence[str],
        sort: Sequence[str],
        default_sort: Sequence[str] | str | None,
        expand: Mapping[str, Any],
        default_limit: int,
        max_limit: int,
        aliases: Mapping[str, str] = {},
    ) -> None:
        owner = model.owner
        if not 1 <= default_limit <= max_limit:
            raise ConfigurationError(
                f"{owner}: default_limit must be 1..max_limit, not {default_limit}"
            )
        self.model = model
        self.filters = {name: model.column(name, "filters") for name in filters}
        self.sortable = {name: model.column(name, "sort") for name in sort}
        for name in expand:
            if name not in model.relationships:
                raise ConfigurationError(
                    f"{owner}.expand names {name!r}, which is not a relationship of"
                    f" {model.cls.__name__}"
                )
        self.expandable = tuple(expand)
        self.members = tuple(
            field.data_key or name for name, field in model.schema.dump_fields.items()
        )
        self.attributes = {
            field.data_key or name: field.attribute or name
            for name, field in model.schema.dump_fields.items()
        }
        self.field_names = {
            field.data_key or name: name for name, field in model.schema.dump_fields.items()
        }
        self.attributes.update({name: name for name in self.expandable})
        self.field_names.update({name: name for name in self.expandable})
        self.nullable = frozenset(
            name for name, column in model.columns.items()
            if any(getattr(c, "nullable", False) for c in column.property.columns)
        )
        """The columns that may hold NULL: their order and keyset conditions place it."""
        order = default_sort.split(",") if isinstance(default_sort, str) else default_sort
        self.default_order = self._order(list(order or ()), what="default_sort")
        self.codecs: dict[tuple[tuple[str, bool], ...], CursorCodec] = {}
        self.aliases: dict[str, str] = {}
        """Each alias's key in the loaded query, and the key of the parameter it stands for."""
        self.schema = self._schema(owner, default_limit, max_limit, aliases)
        self.parameters = frozenset(
            field.data_key or name for name, field in self.schema.fields.items()
        )
        self.deterministic = all(_plain(self.model.field(name)) for name in self.filters)
        """Whether a query string always loads to the same query: the filters' fields are
        marshmallow's own (the other parameters' fields are this module's)."""
        self._known: Memo[str, Query] = Memo(1024)

    def _schema(
        self, owner: str, default_limit: int, max_limit: int, aliases: Mapping[str, str]
    ) -> Schema:
        declared: dict[str, fields.Field[Any]] = {
            "limit": fields.Integer(
                load_default=default_limit, validate=validate.Range(1, max_limit),
                metadata={"description": f"Page size, 1 to {max_limit}."},
            ),
            "offset": fields.Integer(
                validate=validate.Range(0, MAX_INT),
                metadata={"description": "Rows to skip: paging by offset, not by cursor."},
            ),
            "cursor": fields.String(
                metadata={"description": "An opaque position from a `Link` of a page."}
            ),
        }
        if self.sortable:
            choices = [f"{sign}{name}" for name in self.sortable for sign in ("", "-")]
            declared["sort"] = Names(
                fields.String(validate=validate.OneOf(choices)),
                metadata={"description": "Columns to order by (comma-separated), `-` descending."},
            )
        declared["fields"] = Names(
            fields.String(validate=validate.OneOf([*self.members, *self.expandable])),
            metadata={"description": "The members to return (a sparse fieldset)."},
        )
        if self.expandable:
            declared["expand"] = Names(
                fields.String(validate=validate.OneOf(self.expandable)),
                metadata={"description": "Related rows to include."},
            )
        for name in self.filters:
            field = self.model.field(name)
            described = {"description": f"`{name}` equals one of these."}
            declared[name] = fields.List(field, metadata=described)
            if not isinstance(field, fields.Boolean):
                for op in RANGES:
                    bound = self.model.field(name)
                    bound.data_key = f"{name}[{op}]"
                    bound.metadata = {"description": f"`{name}` {_WORDS[op]} this."}
                    declared[f"{name}__{op}"] = bound
        by_parameter = {field.data_key or key: key for key, field in declared.items()}
        for alias, parameter in aliases.items():
            if parameter not in by_parameter or alias in by_parameter:
                raise ConfigurationError(
                    f"{owner}.aliases: {alias!r} must be a new name for one of the parameters"
                    f" {', '.join(by_parameter)}, not for {parameter!r}"
                )
            field = copy.deepcopy(declared[by_parameter[parameter]])
            field.data_key = alias
            field.metadata = {"description": f"The same as `{parameter}`."}
            declared[f"alias__{alias}"] = field
            self.aliases[f"alias__{alias}"] = by_parameter[parameter]
        return Schema.from_dict(declared, name=f"{owner}Query")()

    def _order(self, names: list[str], what: str = "sort") -> tuple[tuple[str, bool], ...]:
        """``(column, descending)`` for each of ``names`` (``-name``: descending; a name given
        again counts once), then the primary key's columns not among them, ascending: every
        order is total, so a cursor names one position."""
        order: dict[str, bool] = {}
        for text in names:
            name = text.lstrip("-")
            if what != "sort" and name not in self.sortable and name not in self.model.columns:
                self.model.column(name, what)
            order.setdefault(name, text.startswith("-"))
        for column in self.model.primary_key:
            order.setdefault(column.key, False)
        return tuple(order.items())

    def load(self, request: Request) -> Query:
        """The query of a request; 400 naming each parameter that is unknown or rejected.

        A query string loaded before is answered from memory (a `Query` is immutable, its
        conditions too), where its loading cannot change (`deterministic`) and the request
        loads it with this language's schema."""
        remembered = self.remembers(request)
        text = request.environ.get("QUERY_STRING", "")
        known = self._known.get(text) if remembered else None
        if known is None:
            known = self._load(request)
            if remembered:
                self._known.keep(text, known)
        return known

    def remembers(self, request: Request) -> bool:
        """Whether the request's query string loads as it did before (see `load`), so that
        what is made of it may be kept for the next request with the same."""
        endpoint = request.endpoint
        environ = request.environ
        return (
            self.deterministic
            and len(environ.get("QUERY_STRING", "")) <= _REMEMBERED
            and environ["REQUEST_METHOD"] != "QUERY"
            and endpoint is not None
            and endpoint.query_schema is self.schema
        )

    def _load(self, request: Request) -> Query:
        query_params = request.query_params
        unknown = sorted(set(query_params) - self.parameters)
        if unknown:
            raise errors.BadRequest(
                f"unknown query parameter {unknown[0]!r}; this collection takes "
                + ", ".join(sorted(self.parameters)),
                errors={name: ["Unknown parameter."] for name in unknown},
            )
        try:
            loaded = request.query
        except errors.BadRequest as error:  # "country.1" is the second country: "country"
            messages: dict[str, list[str]] = {}
            for key, found in error.extra.get("errors", {}).items():
                messages.setdefault(_REPEAT.sub("", key), []).extend(found)
            raise errors.BadRequest(error.detail, errors=messages) from None
        for alias, key in self.aliases.items():
            if alias in loaded:
                given = loaded.pop(alias)
                loaded[key] = [*loaded.get(key, ()), *given] if isinstance(given, list) else given
        where = []
        for name, column in self.filters.items():
            values = [utc(value) for value in loaded.get(name, ())]
            if values:
                where.append(column == values[0] if len(values) == 1 else column.in_(values))
            for op, method in RANGES.items():
                bound = loaded.get(f"{name}__{op}")
                if bound is not None:
                    where.append(getattr(column, method)(utc(bound)))
        sort = loaded.get("sort")
        order = self._order(sort) if sort else self.default_order
        if "cursor" in loaded and "offset" in loaded:
            raise errors.BadRequest(
                "page by cursor or by offset, not both",
                errors={"offset": ["Not allowed together with cursor."]},
            )
        cursor = self.codec(order).decode(loaded["cursor"]) if "cursor" in loaded else None
        chosen = loaded.get("fields")
        return Query(
            where=tuple(where),
            order=order,
            limit=loaded["limit"],
            offset=loaded.get("offset"),
            cursor=cursor,
            fields=frozenset(chosen) if chosen else None,
            expand=tuple(dict.fromkeys(loaded.get("expand", ()))),
        )

    def codec(self, order: tuple[tuple[str, bool], ...]) -> CursorCodec:
        """The cursors of one order, made once per order."""
        codec = self.codecs.get(order)
        if codec is None:
            text = ",".join(f"{'-' if desc else ''}{name}" for name, desc in order)
            keys = [self.model.field(name) for name, _ in order]
            codec = self.codecs[order] = CursorCodec(text, keys)
        return codec

    def ordered(
        self, statement: sa.Select[Any], query: Query, *, paged: bool = True
    ) -> sa.Select[Any]:
        """``statement`` in the query's order, after or before its cursor, one row past the
        page (to know whether another follows); every row in order where not ``paged``."""
        columns = self.model.columns
        backwards = paged and query.cursor is not None and not query.cursor.after
        terms = []
        for name, desc in query.order:
            column = columns[name]
            term = column.desc() if desc != backwards else column.asc()
            if name in self.nullable:  # NULL above every value, as PostgreSQL has it
                term = term.nulls_first() if desc != backwards else term.nulls_last()
            terms.append(term)
        statement = statement.order_by(*terms)
        if not paged:
            return statement
        if query.cursor is not None:
            statement = statement.where(self._beyond(query, backwards))
        statement = statement.limit(query.limit + 1)
        if query.offset:
            statement = statement.offset(query.offset)
        return statement

    def _beyond(self, query: Query, backwards: bool) -> Any:
        """The rows strictly after the cursor's row in the order walked (keyset condition),
        NULL counting as above every value (see `ordered`)."""
        assert query.cursor is not None
        columns = self.model.columns
        clauses = []
        equal: list[Any] = []
        for (name, desc), value in zip(query.order, query.cursor.values, strict=True):
            later: Any
            column = columns[name]
            upwards = desc == backwards
            if value is None:  # only NULLs equal it, and every value is below it
                later = sa.false() if upwards else column.is_not(None)
                equal.append(column.is_(None))
            else:
                later = column > value if upwards else column < value
                if upwards and name in self.nullable:
                    later = sa.or_(later, column.is_(None))
                equal.append(column == value)
            clauses.append(sa.and_(*equal[:-1], later))
        return sa.or_(*clauses)
