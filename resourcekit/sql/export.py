"""Bulk export: every row a collection's ``GET`` matches, read as it is sent.

The rows come from a cursor on a connection of the export's own (a server-side cursor on
PostgreSQL, through SQLAlchemy's ``yield_per``), fetched a batch at a time, so memory stays
constant whatever the row count. The connection is taken while the handler runs, so a full pool
is still a ``503``, and held until the last row is read or the server gives the body up (a
client that went away): it is released then, or when the site closes the stream
(`resourcekit.results.Stream`), whichever comes first; a transaction left open would hold its
locks (PostgreSQL's ``TRUNCATE`` or ``ALTER TABLE`` would wait for it) until then.
The rows are those of the statement at the moment it runs; a write committed while the body
is sent may or may not be in it on SQLite, and is not on PostgreSQL (one snapshot).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from .database import Database

__all__ = ["BATCH", "Export"]

BATCH = 500
"""Rows fetched from the database at a time."""


class Export:
    """The rows of ``statement`` as ``represent`` makes them, batch by batch; `close` ends
    the read and gives the connection back."""

    def __init__(
        self,
        database: Database,
        statement: sa.Select[Any],
        represent: Callable[[Sequence[Any]], Sequence[Any]],
        batch: int = BATCH,
    ) -> None:
        self._session = database.sessions()
        try:
            self._result = self._session.scalars(statement.execution_options(yield_per=batch))
        except BaseException:
            self._session.close()
            raise
        self._represent = represent

    def __iter__(self) -> Iterator[Any]:
        for rows in self._result.partitions():
            yield from self._represent(rows)
        self.close()  # the last row is read: the connection is not needed to send the rest

    def close(self) -> None:
        """End the read and give the connection back (again: no effect)."""
        try:
            self._result.close()
        finally:
            self._session.close()
