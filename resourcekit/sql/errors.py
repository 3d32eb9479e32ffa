"""Database errors as problems: what the client can fix is a 4xx, a busy database a 503.

A unique violation is ``409`` naming the field where the driver tells which column it was; a
NOT NULL or CHECK violation is ``422``, as is a value the column's type cannot hold; a pool
that stays exhausted past its timeout, or a database that is locked or unreachable, ``503``
with ``Retry-After``. The problem never holds
SQL or the driver's message: those stay in the server's log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc

from .. import errors

__all__ = ["RETRY_AFTER", "translated"]

logger = logging.getLogger("resourcekit.sql")

RETRY_AFTER = 1
"""Seconds a client is told to wait after a ``503`` for a busy database."""

_KINDS = {
    "23505": "unique",  # PostgreSQL's SQLSTATE
    "23502": "not null",
    "23514": "check",
    "23503": "foreign key",
    "SQLITE_CONSTRAINT_UNIQUE": "unique",  # SQLite's extended result code
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique",
    "SQLITE_CONSTRAINT_NOTNULL": "not null",
    "SQLITE_CONSTRAINT_CHECK": "check",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign key",
}
"""The violated constraint's kind, by the driver's code: never by the message, whose text
(PostgreSQL's ``Failing row contains (...)``) holds the client's data."""
_SQLITE_COLUMNS = re.compile(r"^[A-Z ]+ constraint failed: ([\w.]+(?:, [\w.]+)*)$")
_POSTGRES_KEY = re.compile(r"^Key \(([^)]+)\)=")


@contextmanager
def translated(*, reading: bool = False) -> Iterator[None]:
    """Run a block, answering the database errors it raises as problems (see the module).

    ``reading``: the block serves a safe request, whose values come from its URI: one the
    column cannot hold is then a ``400``, as a bad query value is.
    """
    try:
        yield
    except exc.IntegrityError as error:
        raise _integrity(error) from None
    except (exc.DataError, OverflowError):  # SQLite's driver raises OverflowError itself
        invalid = errors.BadRequest if reading else errors.UnprocessableContent
        raise invalid("a value does not fit its column") from None
    except exc.TimeoutError:
        logger.warning("no database connection became free within the pool timeout")
        raise _unavailable("every database connection is busy; retry shortly") from None
    except exc.OperationalError as error:
        logger.warning("database unavailable: %s", error.orig)
        raise _unavailable("the database is busy or unreachable; retry shortly") from None


def _unavailable(detail: str) -> errors.ServiceUnavailable:
    return errors.ServiceUnavailable(detail, headers={"Retry-After": str(RETRY_AFTER)})


def _integrity(error: exc.IntegrityError) -> errors.HTTPError:
    """The problem for a violated constraint, by the driver's code for it."""
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    kind = _KINDS.get(str(code))
    if kind == "unique":
        columns = _columns(error, kind)
        names = {name: ["This value is already taken."] for name in columns}
        detail = f"{', '.join(columns)} must be unique" if columns else "a unique value is taken"
        return errors.Conflict(f"{detail}: this value is already taken", **_fields(names))
    if kind == "not null":
        missing = {name: ["Field may not be null."] for name in _columns(error, kind)}
        return errors.UnprocessableContent("a required value is missing", **_fields(missing))
    if kind == "check":
        return errors.UnprocessableContent("a value breaks one of the table's rules")
    if kind == "foreign key":
        return errors.Conflict("the change refers to, or is referred to by, another row")
    return errors.Conflict("the change conflicts with the data stored")


def _fields(messages: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    return {"errors": messages} if messages else {}


def _columns(error: exc.IntegrityError, kind: str) -> list[str]:
    """The columns the driver names: for a unique key PostgreSQL's ``Key (a, b)=`` detail,
    else its column name; SQLite's ``table.column`` list."""
    orig = error.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        found = _POSTGRES_KEY.match(getattr(diag, "message_detail", None) or "")
        if found and kind == "unique":
            return [name.strip() for name in found.group(1).split(",")]
        column = getattr(diag, "column_name", None)
        return [column] if column else []
    found = _SQLITE_COLUMNS.match(str(orig))
    if found:
        return [name.rsplit(".", 1)[-1] for name in found.group(1).split(", ")]
    return []
