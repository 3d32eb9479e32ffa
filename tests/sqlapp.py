"""The API the resourcekit.sql tests run against: stations with observations, on any URL."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from resourcekit import Hook, Site
from resourcekit.sql import Collection, Database, Item
from resourcekit.testing import Client


class Base(DeclarativeBase):
    pass


class Station(Base):
    __tablename__ = "stations"
    __table_args__ = (sa.CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    latitude: Mapped[float]
    country: Mapped[str] = mapped_column(sa.String(2))
    elevation_m: Mapped[float | None]
    owner: Mapped[str] = mapped_column(sa.String(20), default="public")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    observations: Mapped[list[Observation]] = relationship(
        back_populates="station", cascade="all, delete-orphan", passive_deletes=True
    )


class Observation(Base):
    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    observed_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    temperature_c: Mapped[float]
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    station: Mapped[Station] = relationship(back_populates="observations")


class StationSchema(Schema):
    id = fields.Int(dump_only=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    latitude = fields.Float(required=True)  # the table's CHECK bounds it
    country = fields.Str(required=True, allow_none=True)  # NOT NULL: the table refuses null
    elevation_m = fields.Float(allow_none=True)
    tags = fields.List(fields.Str(), dump_only=True, dump_default=list)
    version = fields.Int(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class ObservationSchema(Schema):
    id = fields.Int(dump_only=True)
    station_id = fields.Int(dump_only=True)
    observed_at = fields.AwareDateTime(required=True)
    temperature_c = fields.Float(required=True, validate=validate.Range(-90, 60))
    version = fields.Int(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class Stations(Collection):
    model = Station
    schema = StationSchema
    filters = ("country", "elevation_m", "name")
    sort = ("name", "elevation_m", "id")


class StationItem(Item):
    model = Station
    schema = StationSchema
    field_columns = {"station_id": "id"}


class Observations(Collection):
    model = Observation
    schema = ObservationSchema
    filters = ("observed_at", "temperature_c")
    sort = ("observed_at", "temperature_c")
    default_sort = "-observed_at"
    aliases = {"since": "observed_at[gte]", "until": "observed_at[lte]"}
    expand = {"station": StationSchema}


class ObservationItem(Item):
    model = Observation
    schema = ObservationSchema


def make_site(db: Database, **options: Any) -> Site:
    site = Site(title="Stations", **options)
    site.add("/stations", Stations(db))
    site.add("/stations/{station_id:int}", StationItem(db))
    site.add("/stations/{station_id:int}/observations", Observations(db))
    site.add("/stations/{station_id:int}/observations/{id:int}", ObservationItem(db))
    return site


_numbers = itertools.count()


@contextmanager
def database_at(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any, **options: Any
) -> Iterator[Database]:
    """A fresh, empty database of ``kind`` (``sqlite`` or ``postgresql``), its tables made."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'sql.db'}"
    else:
        postgres = request.getfixturevalue("postgres")
        url = postgres.create_database(f"sql_{next(_numbers)}")  # postgresql://: psycopg 3
    db = Database(url, Base.metadata, **options)
    db.create_all()
    try:
        yield db
    finally:
        db.dispose()


STATION = {"name": "Sonnblick", "latitude": 47.05, "country": "AT", "elevation_m": 3106.0}


def station(client: Client, **changes: Any) -> dict[str, Any]:
    """Create a station (``STATION`` with ``changes``); its representation."""
    response = client.post("/stations", json={**STATION, **changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json
    return body


START = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def add_observations(db: Database, station_id: int, hours: range) -> None:
    """Observations of a station at ``START`` plus each of ``hours``, ``h % 7`` degrees."""
    now = dt.datetime.now(dt.UTC)
    with db.sessions.begin() as session:
        session.add_all(
            Observation(station_id=station_id, observed_at=START + dt.timedelta(hours=h),
                        temperature_c=float(h % 7), updated_at=now)
            for h in hours
        )


def count(db: Database, table: str) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


class Pause(Hook):
    """Holds each write between the site's precondition check and the handler, so that two
    racing writers have both passed the check before either writes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def before(self, request: Any) -> None:
        if request.method != "GET":
            time.sleep(self.seconds)


def racing_site(db: Database, pause: float = 0.3) -> Site:
    """`make_site` whose station writes wait ``pause`` seconds after their preconditions."""

    class SlowStation(StationItem):
        hooks = (Pause(pause),)

    site = Site(title="Stations")
    site.add("/stations", Stations(db))
    site.add("/stations/{station_id:int}", SlowStation(db))
    return site


def serve(url: str, port: int) -> None:
    """Serve `racing_site` on ``url`` with waitress: ``python tests/sqlapp.py URL PORT``."""
    import waitress

    waitress.serve(racing_site(Database(url, Base.metadata)), host="127.0.0.1", port=port,
                   threads=4, _quiet=True)


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
