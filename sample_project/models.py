"""The tables of the weather-station API: stations and their observations, declared.

Each row has a ``version`` (its ``ETag``, raised on every write) and ``created_at`` and
``updated_at`` (its ``Last-Modified``); an observation belongs to its station, and goes with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Base", "Observation", "Station"]

Timestamp = sa.DateTime(timezone=True)


def _created(context: Any) -> Any:
    """A new row's ``created_at``: the ``updated_at`` the layer gave it, to the microsecond."""
    return context.get_current_parameters().get("updated_at") or dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class _Row:
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=_created)
    updated_at: Mapped[dt.datetime] = mapped_column(
        Timestamp, default=lambda: dt.datetime.now(dt.UTC)
    )
    version: Mapped[int] = mapped_column(default=1)


class Station(_Row, Base):
    __tablename__ = "stations"
    __table_args__ = (
        sa.Index("stations_by_country", "country", "id"), {"sqlite_autoincrement": True}
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    latitude: Mapped[float]
    longitude: Mapped[float]
    elevation_m: Mapped[float | None]
    country: Mapped[str] = mapped_column(sa.String(2))
    observations: Mapped[list[Observation]] = relationship(
        back_populates="station", passive_deletes=True, lazy="raise"
    )


class Observation(_Row, Base):
    __tablename__ = "observations"
    __table_args__ = (
        sa.Index("observations_by_time", "station_id", "observed_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id", ondelete="CASCADE"))
    observed_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    temperature_c: Mapped[float]
    humidity_pct: Mapped[float | None]
    pressure_hpa: Mapped[float | None]
    wind: Mapped[dict[str, float | None]] = mapped_column(sa.JSON)
    station: Mapped[Station] = relationship(back_populates="observations", lazy="raise")

    @property
    def station_name(self) -> str:
        """The station's name, for the latest weather."""
        return self.station.name
