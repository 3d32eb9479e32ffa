"""`Collection` and `Item`: the resources of a mapped class, declared, not written.

Each handler runs in the request's transaction (`Database.transaction`), a subclass's own
handlers too, so a ``post`` that calls ``super().post(request)`` and then writes through
``request.session`` commits both together. URI fields name columns: a nested collection lists
and creates only the rows whose columns equal them, and answers 404 while the parent row they
refer to (by foreign key) does not exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from marshmallow import missing
from sqlalchemy import exc
from sqlalchemy.orm import Session, selectinload

from .. import errors
from ..errors import ConfigurationError
from ..idempotency import REPLAYED_HEADER
from ..media import MediaHandler
from ..media.delimited import CSVHandler
from ..media.ndjson import NDJSONHandler
from ..memo import Memo
from ..methods import HANDLER_METHODS
from ..pagination import Page
from ..request import Request
from ..resource import Resource
from ..results import Created, Stream
from ..schemas import SchemaLike, resolve
from .cursor import Cursor
from .database import Database
from .export import Export
from .model import Model, utc
from .query import Query, QueryLanguage
from .representation import Sparse, listed_schema
from .rows import Rows

__all__ = ["Collection", "Item", "Table"]

_WRAPPED = "__resourcekit_sql_transaction__"


class Table(Resource):
    """What `Collection` and `Item` share: the database, the model and its columns.

    ``database`` and ``model`` are class attributes, or ``database`` is given to the
    constructor (``site.add("/notes", Notes(db))``) where it is made at run time.
    """

    database: ClassVar[Database | None] = None
    """The `Database` the rows live in."""
    model: ClassVar[type | None] = None
    """The mapped class (SQLAlchemy declarative) whose rows this resource serves."""
    version_column: ClassVar[str | None] = "version"
    """The integer column that is the strong ``ETag``, raised by one on every write; ``If-Match``
    compares it in the ``UPDATE``/``DELETE`` itself. Ignored when the model has no such column."""
    modified_column: ClassVar[str | None] = "updated_at"
    """The aware datetime column that is ``Last-Modified``, set on every write."""
    field_columns: ClassVar[Mapping[str, str]] = {}
    """The columns of URI fields not named as their column: ``{"station_id": "id"}`` for a
    station at ``/stations/{station_id}`` (a router wants one name at one position)."""
    not_found: ClassVar[str | None] = None
    """The ``detail`` of the 404 for a row (an `Item`'s, or a `Collection`'s parent) that does
    not exist, formatted with the URI fields: ``"no station {station_id}"``."""

    _model: ClassVar[Model | None] = None

    def __init__(self, database: Database | None = None) -> None:
        if database is not None:
            self.database = database  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in HANDLER_METHODS:
            handler = cls.__dict__.get(name)
            if callable(handler) and not getattr(handler, _WRAPPED, False):
                setattr(cls, name, _in_transaction(handler))
        if cls.model is not None:
            schema = resolve(cls.input_schema or cls.schema)
            if schema is None:
                raise ConfigurationError(f"{cls.__name__}.schema must be a marshmallow Schema")
            cls._model = Model(
                cls.__name__, cls.model, schema, cls.version_column, cls.modified_column
            )

    def bind(self, fields: Sequence[str]) -> None:
        owner = type(self).__name__
        if not isinstance(self.database, Database):
            raise ConfigurationError(
                f"{owner}.database must be a resourcekit.sql.Database, not {self.database!r}"
            )
        model = self.plan
        for name in fields:
            model.column(self.column_of(name), f"template field {{{name}}}")
        self.database.aware(model.cls)
        self._rows = Rows(model, sqlite=self.database.sqlite)

    def column_of(self, field: str) -> str:
        """The column a URI field selects by."""
        return self.field_columns.get(field, field)

    @property
    def plan(self) -> Model:
        """The model's columns as this resource sees them."""
        if self._model is None:
            raise ConfigurationError(f"{type(self).__name__}.model is not set")
        return self._model

    def select(self, request: Request) -> sa.Select[Any]:
        """The rows this request may see; override it to scope them (``.where(...)`` on
        ``super().select(request)``). A row outside it is 404 to every method."""
        return sa.select(self.plan.cls)

    @property
    def _scoped(self) -> bool:
        """Whether `select` is overridden, so each request sees rows of its own."""
        return type(self).select is not Table.select

    def _selected(self, request: Request, fields: Mapping[str, Any]) -> sa.Select[Any]:
        columns, column_of = self.plan.columns, self.column_of
        return self.select(request).where(*(columns[column_of(k)] == v for k, v in fields.items()))

    def _missing(self, fields: Mapping[str, Any], default: str) -> str:
        """The 404's detail: `not_found` with the URI fields, else ``default``."""
        return default if self.not_found is None else self.not_found.format(**fields)

    def _session(self, request: Request) -> Session:
        assert self.database is not None
        return self.database.session(request)

    def _execute(self, request: Request, statement: Any, params: dict[str, Any]) -> Any:
        """Run a write in the handler's transaction, beside the session's own writes."""
        assert self.database is not None
        return self.database.connection(request).execute(statement, params)

    def _stamped(self, values: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
        """``values`` with the modification time a write gives its row, and a new row's
        version (an update raises it in its statement)."""
        model = self.plan
        values = {name: utc(value) for name, value in values.items()}
        if model.version is not None and created:
            values[model.version.key] = 1
        if model.modified is not None:
            values[model.modified.key] = dt.datetime.now(dt.UTC)
        return values


def _in_transaction(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def run(resource: Table, request: Request, **fields: Any) -> Any:
        assert resource.database is not None
        with resource.database.transaction(request):
            return handler(resource, request, **fields)

    setattr(run, _WRAPPED, True)
    return run


class Collection(Table):
    """``GET`` lists rows (filtered, sorted, paged: see `resourcekit.sql.query`), or exports
    every matching row, unpaginated and streamed, as NDJSON or CSV (`media`); ``POST``
    creates one: ``201`` with ``Location`` of the `Item` route of the same model."""

    media: ClassVar[Sequence[MediaHandler]] = (NDJSONHandler(), CSVHandler())
    """The export formats, besides the site's: ``Accept: application/x-ndjson`` or
    ``text/csv`` answers every row the filters match, in the ``sort`` order, with the
    ``fields`` and ``expand`` asked for, read and sent a batch at a time (see
    `resourcekit.sql.export`); ``limit``, ``cursor`` and ``offset`` do not apply. ``()``
    turns exports off."""

    filters: ClassVar[Sequence[str]] = ()
    """Columns a client may filter by: ``name=v`` (repeated: any of them), ``name[gte]=v``."""
    sort: ClassVar[Sequence[str]] = ()
    """Columns a client may sort by: ``sort=-name,id``."""
    default_sort: ClassVar[Sequence[str] | str | None] = None
    """The order without ``sort`` (``"-created_at"``); the primary key breaks ties."""
    expand: ClassVar[Mapping[str, SchemaLike]] = {}
    """Relationships a client may include (``expand=station``), with the schema of each."""
    aliases: ClassVar[Mapping[str, str]] = {}
    """Other names for parameters: ``{"since": "observed_at[gte]"}``."""
    default_limit: ClassVar[int] = 20
    max_limit: ClassVar[int] = 100
    paging: ClassVar[Literal["cursor", "offset"]] = "cursor"
    """How a request naming neither ``cursor`` nor ``offset`` is paged (its ``Link``)."""
    count: ClassVar[bool] = False
    """Whether an offset page counts the rows (one more query), so ``Link`` names the last."""

    _language: ClassVar[QueryLanguage | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls._model is None:
            return
        if "output_schema" not in cls.__dict__:
            cls.output_schema = listed_schema(cls._model, cls.expand)
        cls._language = QueryLanguage(
            cls._model,
            filters=cls.filters,
            sort=cls.sort,
            default_sort=cls.default_sort,
            expand=cls.expand,
            default_limit=cls.default_limit,
            max_limit=cls.max_limit,
            aliases=cls.aliases,
        )
        if "query_schema" not in cls.__dict__:
            cls.query_schema = cls._language.schema

    def bind(self, fields: Sequence[str]) -> None:
        super().bind(fields)
        self._parents = dict(getattr(self, "_parents", {}))
        self._parents[tuple(fields)] = tuple(_parent_checks(self.plan, fields, self.column_of))
        self._items: dict[tuple[str, ...], Any] = {}
        self._insert = sa.insert(self._rows.table).returning(*self._rows.selected)
        self._pages: Memo[tuple[str, tuple[Any, ...]], sa.Select[Any]] = Memo(1024)

    @property
    def language(self) -> QueryLanguage:
        assert self._language is not None
        return self._language

    def get(self, request: Request, **fields: Any) -> Page | Stream:
        """List the rows: ``limit`` and ``cursor`` (or ``offset``) page them; ``Link`` names
        the ``next`` and ``prev`` pages. As ``application/x-ndjson`` (a row per line) or
        ``text/csv``: every matching row, unpaginated, streamed."""
        language = self.language
        query = language.load(request)
        assert self.database is not None
        self._check_parents(request, fields)
        handler = request.media_handler
        if handler is not None and handler.streams:
            matching = self._expanded(self._matching(request, fields, query), query)
            everything = language.ordered(matching, query, paged=False)
            represent = functools.partial(self._represent, query=query)
            return Stream(Export(self.database, everything, represent))
        rows = self._page(request, fields, query)
        more = len(rows) > query.limit
        del rows[query.limit :]
        backwards = query.cursor is not None and not query.cursor.after
        if backwards:
            rows.reverse()
        items = self._represent(rows, query)
        by_offset = query.offset is not None or self.paging == "offset"
        if (by_offset and query.cursor is None) or (query.cursor is None and not more):
            offset = query.offset or 0
            total = None if more else offset + len(rows)
            if self.count and (more or not rows):
                counted = self._matching(request, fields, query).subquery()
                counting = sa.select(sa.func.count()).select_from(counted)
                total = self.database.fetch(request, counting, {}, sa.Result.scalar_one)
            return Page(items, limit=query.limit, offset=offset, total=total)
        after, before = self._cursors(rows, query, more, backwards)
        return Page(items, limit=query.limit, next_cursor=after, prev_cursor=before)

    def _page(self, request: Request, fields: Mapping[str, Any], query: Query) -> list[Any]:
        """The rows of a page: with related rows through the session, whose loader fetches
        them; else with Core, made into instances (`resourcekit.sql.rows`), by a statement
        built once per query string and URI fields where `select` is not overridden."""
        language = self.language
        if query.expand:
            matching = self._expanded(self._matching(request, fields, query), query)
            ordered = language.ordered(matching, query)
            return list(self._session(request).scalars(ordered))
        remembered = not self._scoped and language.remembers(request)
        key = (request.environ.get("QUERY_STRING", ""), tuple(fields.items()))
        page = self._pages.get(key) if remembered else None
        if page is None:
            matching = self._matching(request, fields, query)
            page = language.ordered(matching, query).with_only_columns(*self._rows.selected)
            if remembered:
                self._pages.keep(key, page)
        assert self.database is not None
        found = self.database.fetch(request, page, {}, sa.Result.all)
        return [self._rows.instance(row) for row in found]

    def _matching(
        self, request: Request, fields: Mapping[str, Any], query: Query
    ) -> sa.Select[Any]:
        """The rows the request may see, of the parent its URI names, that its filters keep."""
        return self._selected(request, fields).where(*query.where)

    def _expanded(self, statement: sa.Select[Any], query: Query) -> sa.Select[Any]:
        """``statement`` loading the relationships the query expands with its rows."""
        if not query.expand:
            return statement
        model = self.plan.cls
        return statement.options(*(selectinload(getattr(model, n)) for n in query.expand))

    def _cursors(
        self, rows: list[Any], query: Query, more: bool, backwards: bool
    ) -> tuple[str | None, str | None]:
        """The cursors of the next and the previous page, where there may be one."""
        if not rows:
            return None, None
        codec = self.language.codec(query.order)
        names = [name for name, _ in query.order]

        def at(row: Any, after: bool) -> str:
            return codec.encode(Cursor(after, tuple(getattr(row, n) for n in names)))

        has_next = more if not backwards else True
        has_prev = query.cursor is not None if not backwards else more
        return (
            at(rows[-1], True) if has_next else None,
            at(rows[0], False) if has_prev else None,
        )

    def _represent(self, rows: Sequence[Any], query: Query) -> Sequence[Any]:
        """The rows as the output schema dumps them: as they are, or with only the members
        asked for and the relationships expanded."""
        language = self.language
        if query.fields is None and not language.expandable:
            return rows
        chosen = query.fields or frozenset(language.members)
        members = [m for m in language.members if m in chosen]
        members += [m for m in query.expand if query.fields is None or m in chosen]
        names = frozenset(language.field_names[m] for m in members)
        attributes = [language.attributes[m] for m in members]
        return [
            Sparse({name: getattr(row, name, missing) for name in attributes}, names)
            for row in rows
        ]

    def post(self, request: Request, **fields: Any) -> Created:
        """Create a row; ``Location`` names it. With ``Idempotency-Key``, a retry gets the
        first run's row, even after a crash that lost its answer."""
        session = self._session(request)
        self._check_parents(request, fields)
        key = request.idempotency_key
        if key is not None:
            earlier = self._created_for(request, session, key)
            if earlier is not None:
                return self._created(request, earlier, fields, replayed=True)
        given = {self.column_of(name): value for name, value in fields.items()}
        values = {**self.plan.stored(request.validated), **given}
        stamped = self._rows.values(self._stamped(values, created=True))
        if key is not None:
            try:
                self._claim(request, session, key)
            except exc.IntegrityError:  # a run with the same key committed meanwhile
                session.rollback()
                earlier = self._created_for(request, session, key)
                if earlier is None:
                    raise
                return self._created(request, earlier, fields, replayed=True)
        inserted = self._execute(request, self._insert, stamped)
        row = self._rows.instance(inserted.first())
        self._rows.remember(session, row)
        if key is not None:
            self._remember(session, key, row)
        return self._created(request, row, fields)

    def _created(
        self, request: Request, row: Any, fields: Mapping[str, Any], *, replayed: bool = False
    ) -> Created:
        """201 for ``row``; a replay (an earlier run's row) says so, as the site's replays do."""
        item = self._represent([row], _WHOLE)[0]
        location = self._location(request, row, tuple(fields))
        return Created(item, location=location, headers=[REPLAYED_HEADER] if replayed else None)

    def _created_for(self, request: Request, session: Session, key: str) -> Any:
        """The row an earlier run with ``key`` created, or None; 422 for another request."""
        assert self.database is not None
        table = self.database.idempotency
        found = session.execute(
            sa.select(table.c.fingerprint, table.c.row).where(table.c.key == key)
        ).first()
        if found is None:
            return None
        if found.fingerprint != request.site.idempotency.fingerprint(request):
            raise errors.UnprocessableContent(
                "this Idempotency-Key was already used with a different request"
            )
        row = session.get(self.plan.cls, tuple(json.loads(found.row)))
        if row is None:
            raise errors.Gone("the row this request created has since been deleted")
        return row

    def _claim(self, request: Request, session: Session, key: str) -> None:
        """Write ``key`` first, in the row's transaction: a concurrent run with the same key
        waits for this one, then fails on the key rather than on the row's own constraints."""
        assert self.database is not None
        session.execute(sa.insert(self.database.idempotency).values(
            key=key,
            fingerprint=request.site.idempotency.fingerprint(request),
            row="",
            created_at=dt.datetime.now(dt.UTC),
        ))

    def _remember(self, session: Session, key: str, row: Any) -> None:
        """Name the new row in the key's record."""
        assert self.database is not None
        table = self.database.idempotency
        primary_key = json.dumps(self.plan.key(row), default=str)
        session.execute(sa.update(table).where(table.c.key == key).values(row=primary_key))

    def _location(self, request: Request, row: Any, fields: tuple[str, ...]) -> str | None:
        """The URL of the new row: the site's `Item` route of the same model whose fields
        include this collection's, found once per route."""
        route = self._items.get(fields)
        if route is None:
            route = self._items[fields] = _item_route(request, self.plan.cls, fields)
        if route is False:
            return None
        item: Item = route.target.resource
        values = {f: getattr(row, item.column_of(f)) for f in route.fields}
        return request.url_for(route.name, **values)

    def _check_parents(self, request: Request, fields: Mapping[str, Any]) -> None:
        assert self.database is not None
        for name, statement in self._parents.get(tuple(fields), ()):
            if self.database.first(request, statement, {"value": fields[name]}) is None:
                detail = f"no parent row with {name} = {fields[name]}"
                raise errors.NotFound(self._missing(fields, detail))


_WHOLE = Query((), (), 1, None, None, None, ())


def _item_route(request: Request, model: type, fields: tuple[str, ...]) -> Any:
    for route in request.site.routes:
        resource = route.target.resource
        if isinstance(resource, Item) and resource.model is model and route.fields >= set(fields):
            return route
    return False


def _parent_checks(
    model: Model, fields: Sequence[str], column_of: Callable[[str], str]
) -> list[tuple[str, Any]]:
    """For each field whose column is a foreign key: the statement finding its parent row."""
    checks = []
    for name in fields:
        for column in model.columns[column_of(name)].property.columns:
            for key in getattr(column, "foreign_keys", ()):
                target = key.column
                found: sa.Select[Any] = sa.select(sa.literal(1)).select_from(target.table)
                statement = found.where(target == sa.bindparam("value"))
                checks.append((name, statement))
    return checks


class Item(Table):
    """One row: ``GET``, ``PUT`` (replace), ``PATCH`` (merge the given members; or a JSON Merge
    Patch or JSON Patch of the row), ``DELETE`` (``204``). With a version column, its value
    is the ``ETag`` and a conditional write is a compare-and-set in the statement itself.

    The row is read and written with Core statements (`resourcekit.sql.rows`); where `select`
    is not overridden they are built once per route, else per request from its ``select``."""

    def bind(self, fields: Sequence[str]) -> None:
        super().bind(fields)
        self._lookups = dict(getattr(self, "_lookups", {}))
        self._keys = dict(getattr(self, "_keys", {}))
        self._writes: dict[tuple[str, bool], Any] = {}
        if self._scoped:
            return
        by_column = {self.column_of(name): name for name in fields}
        primary_key = [column.key for column in self.plan.primary_key]
        if sorted(by_column) == sorted(primary_key):  # the request's own write may know it
            self._keys[tuple(fields)] = tuple(by_column[column] for column in primary_key)
        columns = self.plan.columns
        self._lookups[tuple(fields)] = sa.select(*self._rows.selected).where(
            *(columns[self.column_of(name)] == sa.bindparam(name) for name in fields)
        ).limit(1)

    def _row(self, request: Request, fields: Mapping[str, Any]) -> Any:
        """The row the URI names, loaded once per request; 404 if it is not visible."""

        def load() -> Any:
            assert self.database is not None
            row = self._written(request, fields)
            if row is None:
                lookup, params = self._lookups.get(tuple(fields)), fields
                if lookup is None:  # the fields are in the request's own statement
                    selected = self._selected(request, fields)
                    lookup, params = selected.with_only_columns(*self._rows.selected).limit(1), {}
                row = self._rows.instance(self.database.first(request, lookup, params))
            if row is None:
                detail = f"no {type(self).__name__} at this address"
                raise errors.NotFound(self._missing(fields, detail))
            return row

        return request.memo((self, *fields.items()), load)

    def _written(self, request: Request, fields: Mapping[str, Any]) -> Any:
        """The row as this request's own write left it, if it wrote the one ``fields`` name."""
        key = self._keys.get(tuple(fields))
        if key is None:
            return None
        return self._rows.written(request.session, tuple(fields[name] for name in key))

    def etag(self, request: Request, **fields: Any) -> str | None:
        version = self.plan.version
        if version is None:
            return None
        return str(getattr(self._row(request, fields), version.key))

    def last_modified(self, request: Request, **fields: Any) -> dt.datetime | None:
        modified = self.plan.modified
        if modified is None:
            return None
        value = getattr(self._row(request, fields), modified.key)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value  # type: ignore[no-any-return]

    def get(self, request: Request, **fields: Any) -> Any:
        """Read the row, with ``ETag`` and ``Last-Modified`` for conditional requests."""
        return self._row(request, fields)

    def put(self, request: Request, **fields: Any) -> Any:
        """Replace the row: every required member; an optional one left out becomes null."""
        data = request.validated
        return self._update(request, fields, {n: data.get(n) for n in self.plan.writable})

    def patch(self, request: Request, **fields: Any) -> Any:
        """Change the given members, leave the others; a merge patch or JSON Patch gives the
        whole new state (`resourcekit.patch`), where a member removed becomes null."""
        data = request.validated
        if request.patch_format is None:
            return self._update(request, fields, self.plan.stored(data))
        return self._update(request, fields, {n: data.get(n) for n in self.plan.writable})

    def delete(self, request: Request, **fields: Any) -> None:
        """Delete the row."""
        row = self._row(request, fields)
        statement, params = self._write("delete", request, row)
        if self._execute(request, statement, params).rowcount == 0:
            raise _changed()

    def _update(self, request: Request, fields: Mapping[str, Any], values: dict[str, Any]) -> Any:
        row = self._row(request, fields)
        fixed = {self.column_of(name) for name in fields}
        values = {k: v for k, v in values.items() if k not in fixed}
        if not values:  # nothing to change: no new version either
            return row
        statement, params = self._write("update", request, row)
        params.update(self._rows.values(self._stamped(values)))
        updated = self._rows.instance(self._execute(request, statement, params).first())
        if updated is None:
            raise _changed()
        self._rows.remember(request.session, updated)
        return updated

    def _write(self, kind: str, request: Request, row: Any) -> tuple[Any, dict[str, Any]]:
        """The UPDATE (whose SET its parameters name) or DELETE of ``row``, and the values of
        its WHERE: see `_statement`."""
        conditional = self.plan.version is not None and request.conditional
        params = {_key(i): value for i, value in enumerate(self.plan.key(row))}
        if conditional:
            assert self.plan.version is not None
            params[_VERSION] = getattr(row, self.plan.version.key)
        if self._scoped:
            return self._statement(kind, request, conditional), params
        statement = self._writes.get((kind, conditional))
        if statement is None:
            statement = self._writes[kind, conditional] = self._statement(kind, None, conditional)
        return statement, params

    def _statement(self, kind: str, request: Request | None, conditional: bool) -> Any:
        """The row by primary key, still among the rows ``select`` lets the request see (where
        it is overridden), and for a conditional request at the version the site checked the
        precondition against: the compare-and-set."""
        model, columns = self.plan, self._rows.table_columns
        table = self._rows.table
        where = [columns[c.key] == sa.bindparam(_key(i)) for i, c in enumerate(model.primary_key)]
        if request is not None:
            visible = self.select(request).with_only_columns(*model.primary_key)
            where.append(sa.tuple_(*model.primary_key).in_(visible))
        if model.version is not None and conditional:
            where.append(columns[model.version.key] == sa.bindparam(_VERSION))
        if kind == "delete":
            return sa.delete(table).where(*where)
        statement = sa.update(table).where(*where).returning(*self._rows.selected)
        if model.version is not None:
            version = columns[model.version.key]
            statement = statement.values({version: version + 1})
        return statement


_VERSION = "resourcekit_version"
"""The WHERE's parameter for the version a conditional write expects (not a column's key,
which would name a value to SET)."""


def _key(position: int) -> str:
    return f"resourcekit_key_{position}"


def _changed() -> errors.PreconditionFailed:
    return errors.PreconditionFailed(
        "the row changed while this request was handled: fetch it again"
    )
