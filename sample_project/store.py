"""SQLite storage for stations and their observations.

One connection per thread (a WSGI server answers on several), each in autocommit mode
(``isolation_level=None``) so that transactions are explicit: every write runs inside
``BEGIN IMMEDIATE ... COMMIT`` (or ``ROLLBACK`` on error), and reads that take several statements
run inside one ``BEGIN ... COMMIT`` so they see one snapshot. The database is in WAL mode: readers
never wait for the writer.

Timestamps are stored as UTC ISO 8601 text of fixed width (``2024-05-01T12:00:00.000000+00:00``),
so ordering by the text is ordering by time, and come back as aware ``datetime`` objects. Rows are
returned as plain dicts; ``version`` starts at 1 and grows by one on every update.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["OBSERVATION_FIELDS", "STATION_FIELDS", "Store"]

STATION_FIELDS = ("name", "latitude", "longitude", "elevation_m", "country")
"""The columns a client writes; the rest (id, timestamps, version) belong to the store."""
OBSERVATION_FIELDS = (
    "observed_at",
    "temperature_c",
    "humidity_pct",
    "pressure_hpa",
    "wind_speed_ms",
    "wind_direction_deg",
)
_TIMESTAMPS = frozenset({"observed_at", "created_at", "updated_at"})
_BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    latitude    REAL    NOT NULL,
    longitude   REAL    NOT NULL,
    elevation_m REAL    NULL,
    country     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    request_key TEXT    NULL UNIQUE,
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS stations_by_country ON stations (country, id);
CREATE TABLE IF NOT EXISTS observations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id         INTEGER NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    observed_at        TEXT    NOT NULL,
    temperature_c      REAL    NOT NULL,
    humidity_pct       REAL    NULL,
    pressure_hpa       REAL    NULL,
    wind_speed_ms      REAL    NULL,
    wind_direction_deg REAL    NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL,
    request_key        TEXT    NULL UNIQUE,
    version            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS observations_by_time ON observations (station_id, observed_at);
"""


def utc_text(value: dt.datetime) -> str:
    """The stored form of an aware datetime: UTC, microseconds, fixed width."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return utc_text(dt.datetime.now(dt.UTC))


def _row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        key: dt.datetime.fromisoformat(row[key]) if key in _TIMESTAMPS else row[key]
        for key in row.keys()  # noqa: SIM118 - sqlite3.Row is not iterable by key
    }


def _found(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return None if row is None else _row(row)


def _stored(data: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The writable columns present in ``data``, timestamps converted to their stored text."""
    return {
        key: utc_text(data[key]) if key in _TIMESTAMPS else data[key]
        for key in columns
        if key in data
    }


def _by_key(db: sqlite3.Connection, table: str, request_key: str | None) -> sqlite3.Row:
    """The row an earlier run of the same request wrote: called when an INSERT wrote nothing,
    which only a taken ``request_key`` makes it do."""
    query = f"SELECT * FROM {table} WHERE request_key = ?"  # noqa: S608 - table: ours
    row: sqlite3.Row = db.execute(query, [request_key]).fetchone()
    return row


class _Connection(sqlite3.Connection):
    """A connection that `Store` can track without keeping it alive (sqlite3's own cannot be
    weakly referenced)."""


class StationUpdates(abc.ABC):
    """What both stores do the same way when a station changes; they write `_update_station`."""

    def replace_station(
        self, station_id: int, data: Mapping[str, Any], expected_version: int | None = None
    ) -> dict[str, Any] | None:
        """Replace every writable field (a missing optional one becomes NULL), as
        `update_station` does."""
        fields = {key: data.get(key) for key in STATION_FIELDS}
        return self.update_station(station_id, fields, expected_version)

    def update_station(
        self, station_id: int, changes: Mapping[str, Any], expected_version: int | None = None
    ) -> dict[str, Any] | None:
        """Set the fields given in ``changes``, leave the others.

        With ``expected_version`` the update is a compare-and-set: it happens only if the station
        is still at that version. None when no station (at that version) was updated. An update
        that sets nothing changes nothing, not even the version.
        """
        values = {key: changes[key] for key in STATION_FIELDS if key in changes}
        if not values:  # nothing to change: no new version either
            row = self.get_station(station_id)
            unchanged = row is not None and expected_version in (None, row["version"])
            return row if unchanged else None
        return self._update_station(station_id, values, expected_version)

    @abc.abstractmethod
    def get_station(self, station_id: int) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def _update_station(
        self, station_id: int, values: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any] | None: ...


class Store(StationUpdates):
    """The weather-station database at ``path`` (created with its tables on first use).

    ``created_tables`` tells whether this store made the tables: the database was new.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        connection = self._connection()
        connection.execute("PRAGMA journal_mode=WAL")
        with self._write() as db:  # the check and the creation in one write transaction
            self.created_tables = (
                db.execute("SELECT 1 FROM sqlite_master WHERE name = 'stations'").fetchone() is None
            )
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    # -- connections and transactions ------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on its first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # check_same_thread=False only so that close() may close every thread's connection;
            # each connection is otherwise used by the thread that opened it, and no other. When
            # that thread ends, its thread-local goes, and the connection is closed with it.
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, factory=_Connection
            )
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS:d}")
            connection.execute("PRAGMA foreign_keys = ON")
            self._local.connection = connection
            self._connections.add(connection)
        return connection

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute(begin)
        try:
            yield connection
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled back already
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction: takes the database's write lock at once, so it cannot deadlock."""
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for several statements."""
        return self._transaction("BEGIN")

    def close(self) -> None:
        """Close every thread's connection; the store must not be used afterwards."""
        for connection in list(self._connections):
            connection.close()
        self._connections.clear()
        self._local = threading.local()

    # -- stations --------------------------------------------------------------------------------

    def list_stations(
        self, limit: int, offset: int, country: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of stations by id, and how many there are in all (with the filter)."""
        where, args = ("WHERE country = ?", [country]) if country else ("", [])
        with self._read() as db:
            total = db.execute(f"SELECT count(*) FROM stations {where}", args).fetchone()[0]  # noqa: S608
            rows = db.execute(
                f"SELECT * FROM stations {where} ORDER BY id LIMIT ? OFFSET ?",  # noqa: S608
                [*args, limit, offset],
            ).fetchall()
        return [_row(row) for row in rows], total

    def get_station(self, station_id: int) -> dict[str, Any] | None:
        return _found(
            self._connection().execute("SELECT * FROM stations WHERE id = ?", [station_id])
            .fetchone()
        )

    def create_station(
        self, data: Mapping[str, Any], request_key: str | None = None
    ) -> dict[str, Any]:
        """A new station; with ``request_key``, the one that key already created, if any.

        The key is written in the row's own transaction, so a request retried after its first
        run committed (and then lost its answer) finds that row instead of writing another.
        """
        values = {key: None for key in STATION_FIELDS} | _stored(data, STATION_FIELDS)
        with self._write() as db:
            row = db.execute(
                "INSERT INTO stations (name, latitude, longitude, elevation_m, country,"
                " created_at, updated_at, request_key) VALUES (:name, :latitude, :longitude,"
                " :elevation_m, :country, :now, :now, :key)"
                " ON CONFLICT (request_key) DO NOTHING RETURNING *",
                {**values, "now": _now(), "key": request_key},
            ).fetchone() or _by_key(db, "stations", request_key)
        return _row(row)

    def _update_station(
        self, station_id: int, values: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any] | None:
        assignments = "".join(f"{key} = :{key}, " for key in values)  # keys: STATION_FIELDS only
        with self._write() as db:
            row = db.execute(
                f"UPDATE stations SET {assignments}updated_at = :now, version = version + 1"  # noqa: S608
                " WHERE id = :id AND (:expected IS NULL OR version = :expected) RETURNING *",
                {**values, "now": _now(), "id": station_id, "expected": expected_version},
            ).fetchone()
        return _found(row)

    def delete_station(self, station_id: int, expected_version: int | None = None) -> bool:
        """Delete a station and (by cascade) its observations, if it is at ``expected_version``
        (when given); False if no station was deleted."""
        with self._write() as db:
            cursor = db.execute(
                "DELETE FROM stations"
                " WHERE id = :id AND (:expected IS NULL OR version = :expected)",
                {"id": station_id, "expected": expected_version},
            )
        return cursor.rowcount > 0

    # -- observations ----------------------------------------------------------------------------

    def list_observations(
        self,
        station_id: int,
        limit: int,
        offset: int,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of a station's observations, newest first, and how many match in all.

        ``since`` and ``until`` bound ``observed_at``, both inclusive.
        """
        where, args = "WHERE station_id = ?", list[Any]([station_id])
        if since is not None:
            where, args = f"{where} AND observed_at >= ?", [*args, utc_text(since)]
        if until is not None:
            where, args = f"{where} AND observed_at <= ?", [*args, utc_text(until)]
        with self._read() as db:
            total = db.execute(f"SELECT count(*) FROM observations {where}", args).fetchone()[0]  # noqa: S608
            rows = db.execute(
                f"SELECT * FROM observations {where}"  # noqa: S608
                " ORDER BY observed_at DESC, id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_row(row) for row in rows], total

    def get_observation(self, station_id: int, obs_id: int) -> dict[str, Any] | None:
        return _found(
            self._connection().execute(
                "SELECT * FROM observations WHERE station_id = ? AND id = ?", [station_id, obs_id]
            ).fetchone()
        )

    def create_observation(
        self, station_id: int, data: Mapping[str, Any], request_key: str | None = None
    ) -> dict[str, Any] | None:
        """Record an observation; None if there is no such station. ``request_key`` as in
        `create_station`."""
        values = {key: None for key in OBSERVATION_FIELDS} | _stored(data, OBSERVATION_FIELDS)
        with self._write() as db:
            if db.execute("SELECT 1 FROM stations WHERE id = ?", [station_id]).fetchone() is None:
                return None
            row = db.execute(
                "INSERT INTO observations (station_id, observed_at, temperature_c, humidity_pct,"
                " pressure_hpa, wind_speed_ms, wind_direction_deg, created_at, updated_at,"
                " request_key) VALUES (:station_id, :observed_at, :temperature_c, :humidity_pct,"
                " :pressure_hpa, :wind_speed_ms, :wind_direction_deg, :now, :now, :key)"
                " ON CONFLICT (request_key) DO NOTHING RETURNING *",
                {**values, "station_id": station_id, "now": _now(), "key": request_key},
            ).fetchone() or _by_key(db, "observations", request_key)
        return _row(row)

    def latest_observation(self, station_id: int) -> dict[str, Any] | None:
        """The station's newest observation with ``station_name``; None if it has none."""
        return _found(
            self._connection().execute(
                "SELECT o.*, s.name AS station_name FROM observations AS o"
                " JOIN stations AS s ON s.id = o.station_id WHERE o.station_id = ?"
                " ORDER BY o.observed_at DESC, o.id DESC LIMIT 1",
                [station_id],
            ).fetchone()
        )
