"""The database: an engine with a bounded pool, its tables, and one session per request.

A request's session is `resourcekit.Request.session`, made on first use. The layer's code
ends every transaction it begins before it returns (a handler's by committing, or rolling back
on an error), and a read outside a write's handler (the validators, a ``GET``) takes a
connection for its one query alone, so no connection stays checked out when a request fails
where no handler ran, and a pool of a few connections serves many threads.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from ..methods import SAFE_METHODS
from ..request import Request
from .errors import translated
from .rows import aware_columns

__all__ = ["IDEMPOTENCY_TABLE", "Database"]

IDEMPOTENCY_TABLE = "resourcekit_idempotency"
"""The table of ``Idempotency-Key`` values, written with the rows they created."""
_IN_HANDLER = "resourcekit.sql.handler"
_CONNECTION = "resourcekit.sql.connection"
_SCHEMA_LOCK = 0x7265736B  # "resk": the advisory lock PostgreSQL processes create tables under
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class Database:
    """``Database(url, metadata, **options)``: an SQLAlchemy engine for ``url`` and the tables
    of ``metadata``.

    ``pool_size`` (default 5) and ``max_overflow`` (default 5) bound the connections, and a
    request that waits ``pool_timeout`` seconds (default 10) for one is answered ``503`` with
    ``Retry-After``. Other ``options`` go to `sqlalchemy.create_engine`. An SQLite file is put
    in WAL mode (readers never wait for the writer), with foreign keys enforced and a busy
    timeout. A ``postgresql://`` URL is served by psycopg 3 (``postgresql+psycopg://``).
    ``DateTime(timezone=True)`` values read from SQLite come back aware, in UTC, as
    they do from PostgreSQL. The table of ``Idempotency-Key`` values is added to ``metadata``,
    so migrations made from it (Alembic) include it.
    """

    def __init__(self, url: str | sa.URL, metadata: sa.MetaData, **options: Any) -> None:
        self.url = sa.make_url(url)
        if self.url.drivername == "postgresql":  # psycopg 3, resourcekit's driver, not psycopg2
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.metadata = metadata
        self.sqlite = self.url.get_backend_name() == "sqlite"
        if not self.sqlite or self.url.database not in (None, "", ":memory:"):
            options.setdefault("pool_size", 5)
            options.setdefault("max_overflow", 5)
            options.setdefault("pool_timeout", 10)
        options.setdefault("pool_pre_ping", not self.sqlite)
        self.engine = sa.create_engine(self.url, **options)
        if self.sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.idempotency = _idempotency_table(metadata)
        self._aware: set[type] = set()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def create_all(self) -> list[str]:
        """Create the tables of ``metadata`` that are missing, and name them (a new database
        has them all: seed it); safe when several processes start at once (PostgreSQL: under an
        advisory lock; SQLite: in one write transaction), and only one of them names a table."""
        attempts = len(self.metadata.tables) + 1  # each failure means another made a table
        while True:
            try:
                with self.engine.begin() as connection:
                    if connection.dialect.name == "postgresql":
                        lock = sa.text("SELECT pg_advisory_xact_lock(:key)")
                        connection.execute(lock, {"key": _SCHEMA_LOCK})
                    existing = set(sa.inspect(connection).get_table_names())
                    self.metadata.create_all(connection)
                return [name for name in self.metadata.tables if name not in existing]
            except exc.OperationalError as error:  # SQLite: another process made it first
                attempts -= 1
                if "already exists" not in str(error.orig) or attempts == 0:
                    raise

    def check(self) -> bool:
        """Readiness: True when a connection answers ``SELECT 1`` within the pool timeout."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except exc.SQLAlchemyError:
            return False
        return True

    def forget_keys(self, older_than: dt.timedelta) -> int:
        """Delete the ``Idempotency-Key`` records older than ``older_than`` (run it now and
        then, e.g. with the site's ``Idempotency.ttl``); how many went."""
        cutoff = dt.datetime.now(dt.UTC) - older_than
        table = self.idempotency
        with self.engine.begin() as connection:
            done = connection.execute(sa.delete(table).where(table.c.created_at < cutoff))
        return int(done.rowcount)

    def dispose(self) -> None:
        """Close the pool's connections (at shutdown, or in a child process after fork)."""
        self.engine.dispose()

    # -- sessions and transactions ------------------------------------------------------------

    def session(self, request: Request) -> Session:
        """The request's session (`Request.session`), made on first use."""
        session: Session | None = request.session
        if session is None:
            session = request.session = self.sessions()
        return session

    @contextmanager
    def transaction(self, request: Request) -> Iterator[Session]:
        """The request's session in a transaction committed when the block ends, rolled back
        when it raises; inside another such block (a handler calling ``super()``) it joins the
        outer one, which commits for both. Database errors come out as problems."""
        session = self.session(request)
        if session.info.get(_IN_HANDLER):
            yield session
            return
        session.info[_IN_HANDLER] = True
        try:
            with translated(reading=request.method in SAFE_METHODS):
                try:
                    yield session
                    if session.in_transaction():
                        session.commit()  # joined the layer's connection: only flushes
                    connection = session.info.get(_CONNECTION)
                    if connection is not None:
                        connection.commit()
                except BaseException:
                    session.rollback()
                    connection = session.info.get(_CONNECTION)
                    if connection is not None:
                        connection.rollback()
                    raise
        finally:
            session.info[_IN_HANDLER] = False
            self._release(session)

    def connection(self, request: Request) -> sa.Connection:
        """The connection of the handler's transaction, for the layer's Core statements.

        Where the session has not begun one, the layer takes a connection of its own and binds
        the session to it, so what the handler writes through ``request.session`` afterwards
        joins the same transaction (the session then flushes, and the block commits); this
        spares every write the session's own transaction bookkeeping."""
        session = self.session(request)
        found: sa.Connection | None = session.info.get(_CONNECTION)
        if found is not None:
            return found
        if session.in_transaction():
            return session.connection()
        found = session.info[_CONNECTION] = self.engine.connect()
        session.bind = found
        return found

    def _release(self, session: Session) -> None:
        """Give the layer's connection back to the pool, and the session its engine again
        (its transaction on the connection has ended with the block's)."""
        connection = session.info.pop(_CONNECTION, None)
        if connection is not None:
            session.bind = self.engine
            connection.close()

    def transactional(self, handler: F) -> F:
        """Decorate a handler ``(self, request, **fields)`` to run in `transaction`."""

        @functools.wraps(handler)
        def run(resource: Any, request: Request, **fields: Any) -> Any:
            with self.transaction(request):
                return handler(resource, request, **fields)

        return run  # type: ignore[return-value]

    def first(
        self, request: Request, statement: sa.Executable, params: Mapping[str, Any] = {}
    ) -> sa.Row[Any] | None:
        """The first row of a Core ``statement`` (see `fetch`)."""
        return self.fetch(request, statement, params, sa.Result.first)

    def fetch(
        self,
        request: Request,
        statement: sa.Executable,
        params: Mapping[str, Any],
        take: Callable[[sa.Result[Any]], T],
    ) -> T:
        """What ``take`` makes of a Core ``statement``'s result: inside a write's handler on
        its transaction's connection, so it sees the handler's writes; else (a validator, a
        read) on a connection taken for the query alone, back in the pool when it returns."""
        with translated(reading=request.method in SAFE_METHODS):
            session: Session | None = request.session
            if session is not None and session.info.get(_IN_HANDLER) and (
                request.method not in SAFE_METHODS
            ):
                return take(self.connection(request).execute(statement, params))
            with self.engine.connect() as connection:
                return take(connection.execute(statement, params))

    def aware(self, model: type) -> None:
        """Make SQLite's naive ``DateTime(timezone=True)`` values of ``model`` aware (UTC)."""
        if not self.sqlite or model in self._aware:
            return
        self._aware.add(model)
        names = aware_columns(sa.inspect(model))
        if names:
            make_aware = functools.partial(_make_aware, names)
            event.listen(model, "load", make_aware)
            event.listen(model, "refresh", make_aware)


def _make_aware(names: list[str], target: Any, *event_args: Any) -> None:
    loaded = target.__dict__
    for name in names:
        value = loaded.get(name)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            set_committed_value(target, name, value.replace(tzinfo=dt.UTC))


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _idempotency_table(metadata: sa.MetaData) -> sa.Table:
    """The keys of creating requests, each with its request's fingerprint and the new row."""
    table = metadata.tables.get(IDEMPOTENCY_TABLE)
    if table is not None:
        return table
    return sa.Table(
        IDEMPOTENCY_TABLE,
        metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("row", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
