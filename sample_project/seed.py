"""A few real weather stations, each with a day of hourly observations, for a new database.

The stations are real ones (names, coordinates and elevations as their weather services publish
them); the observations are made up, but follow what a day at each looks like: temperature
peaking in the local afternoon (local solar time, from the longitude), humidity falling as it
warms, the twice-daily tide of the air pressure (reduced to sea level, as weather services
report it), wind strengthening in the afternoon and veering around its prevailing direction.
The same ``now`` always gives the same values; every value passes the API's own schemas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from .models import Observation, Station

if TYPE_CHECKING:
    from resourcekit.sql import Database

__all__ = ["STATIONS", "SeedStation", "observations", "seed"]

HOURS = 24


@dataclasses.dataclass(frozen=True)
class SeedStation:
    """A station, and the climate of the day its observations describe."""

    name: str
    latitude: float
    longitude: float
    elevation_m: float
    country: str
    mean_c: float
    daily_range_c: float
    humidity_pct: float
    pressure_hpa: float
    wind_ms: float
    wind_from_deg: float

    def station(self) -> dict[str, Any]:
        """The station as a client would POST it."""
        names = ("name", "latitude", "longitude", "elevation_m", "country")
        return {name: getattr(self, name) for name in names}


STATIONS = (
    # name, latitude, longitude, elevation_m, country; then the day's climate: mean and range of
    # the temperature, mean humidity, sea-level pressure, mean wind and where it blows from
    SeedStation("Zugspitze", 47.4210, 10.9848, 2956, "DE", -4.5, 4.0, 82, 1017.0, 6.5, 250),
    SeedStation("Jungfraujoch", 46.5475, 7.9851, 3571, "CH", -7.0, 4.5, 76, 1018.5, 7.0, 230),
    SeedStation(
        "Valentia Observatory", 51.9381, -10.2411, 24, "IE", 10.5, 5.0, 86, 1008.0, 8.0, 240
    ),
    SeedStation("Sodankylä", 67.3671, 26.6290, 179, "FI", -2.0, 6.0, 88, 1012.5, 2.5, 200),
    SeedStation(
        "Mauna Loa Observatory", 19.5362, -155.5763, 3397, "US", 7.5, 10.0, 35, 1014.0, 4.0, 120
    ),
    SeedStation("Cape Grim", -40.6817, 144.6892, 94, "AU", 14.0, 6.0, 78, 1011.0, 10.0, 270),
)


def observations(station: SeedStation, now: dt.datetime) -> list[dict[str, Any]]:
    """The station's hourly observations for the 24 hours up to ``now``'s hour, oldest first."""
    last = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    hours = [last - dt.timedelta(hours=back) for back in range(HOURS - 1, -1, -1)]
    return [_observed(station, at) for at in hours]


def _observed(station: SeedStation, at: dt.datetime) -> dict[str, Any]:
    solar_hour = (at.hour + at.minute / 60 + station.longitude / 15) % 24
    warmth = math.cos(2 * math.pi * (solar_hour - 15) / 24)  # 1 at 15:00 local, -1 at 03:00
    tide = math.cos(4 * math.pi * (solar_hour - 10) / 24)  # highs near 10:00 and 22:00
    gustiness = math.cos(2 * math.pi * (solar_hour - 14) / 24)
    veer = math.sin(2 * math.pi * solar_hour / 24)
    return {
        "observed_at": at,
        "temperature_c": round(station.mean_c + station.daily_range_c / 2 * warmth, 1),
        "humidity_pct": round(min(100.0, max(5.0, station.humidity_pct - 10 * warmth))),
        "pressure_hpa": round(station.pressure_hpa + 1.2 * tide, 1),
        "wind": {
            "speed_ms": round(station.wind_ms * (1 + 0.35 * gustiness), 1),
            "direction_deg": round(station.wind_from_deg + 25 * veer, -1) % 360,
        },
    }


def seed(database: Database, now: dt.datetime | None = None) -> tuple[int, int]:
    """Add `STATIONS` with their observations up to ``now`` (default: the current time), in one
    transaction; how many stations and observations were added."""
    now = now or dt.datetime.now(dt.UTC)
    added = 0
    with database.sessions.begin() as session:
        for station in STATIONS:
            made = [Observation(**_stamped(o, now)) for o in observations(station, now)]
            session.add(Station(**_stamped(station.station(), now), observations=made))
            added += len(made)
    return len(STATIONS), added


def _stamped(values: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {**values, "created_at": now, "updated_at": now, "version": 1}
