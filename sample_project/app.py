"""The weather-station API: resources declared over the models, its versions, `create_site`.

Reads are open; writes need ``Authorization: Bearer <token>``. ``ETag`` is a row's version, and a
conditional write a compare-and-set in its statement (`resourcekit.sql`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from resourcekit import Created, Page, Resource, Result, Site, Stream, auth, errors
from resourcekit.hosts import AllowedHosts
from resourcekit.idempotency import Idempotency, IdempotencyStore
from resourcekit.proxies import TrustedProxies
from resourcekit.ratelimit import RateLimit, RateLimitStore
from resourcekit.sql import Collection, Database, Item
from resourcekit.versioning import Change, Versions

from . import models
from .schemas import ObservationSchema, RootSchema, StationSchema, WeatherSchema, windowed

__all__ = ["TITLE", "VERSION", "VERSIONS", "WeatherSite", "create_site", "open_database"]

TITLE = "Weather stations"
VERSION = "1.0.0"
DESCRIPTION = "Weather stations and their observations, in JSON and XML."


class Root(Resource):
    """The API root: what this API is, and links to its collections."""

    schema = RootSchema

    def get(self, request) -> Result:
        """What this API is, and where its collections are.

        ``Link`` names its description (RFC 8631): ``rel="service-desc"`` the OpenAPI document,
        ``rel="service-doc"`` the page that documents it.
        """
        body = {
            "title": TITLE,
            "version": VERSION,
            "description": DESCRIPTION,
            "links": {"self": request.url_for(Root), "stations": request.url_for(Stations)},
        }
        openapi, docs = request.url_for("openapi"), request.url_for("docs")
        link = (
            f'<{openapi}>; rel="service-desc"; type="application/json", '
            f'<{docs}>; rel="service-doc"; type="text/html"'
        )
        return Result(body, headers={"Link": link})


class Stations(Collection):
    """The weather stations."""

    model = models.Station
    schema = StationSchema
    filters = ("country", "latitude", "longitude", "elevation_m", "name")
    sort = ("id", "name", "country", "latitude", "longitude", "created_at", "updated_at")
    paging = "offset"
    count = True

    def get(self, request) -> Page | Stream:
        """List stations, by id, a page at a time; ``Link`` names the other pages.

        As NDJSON (``Accept: application/x-ndjson``) or CSV (``text/csv``): all of them,
        streamed."""
        return super().get(request)

    def post(self, request) -> Created:
        """Add a station; ``Location`` names it. ``Idempotency-Key`` makes a retry safe."""
        return super().post(request)


class Station(Item):
    """One weather station; writes honour ``If-Match`` with the ``ETag`` last read."""

    model = models.Station
    schema = StationSchema
    field_columns = {"station_id": "id"}
    not_found = "no station {station_id}"


class Observations(Collection):
    """A station's observations, newest first."""

    model = models.Observation
    schema = ObservationSchema
    filters = ("observed_at", "temperature_c", "humidity_pct", "pressure_hpa")
    sort = ("observed_at", "temperature_c", "id", "created_at")
    default_sort = "-observed_at,-id"  # of two at one moment, the later recorded first
    aliases = {"since": "observed_at[gte]", "until": "observed_at[lte]"}
    expand = {"station": StationSchema}
    not_found = "no station {station_id}"
    paging = "offset"
    count = True

    def get(self, request, station_id) -> Page | Stream:
        """List the station's observations, newest first, a page at a time.

        As NDJSON (``Accept: application/x-ndjson``) or CSV (``text/csv``): all of them,
        streamed."""
        return super().get(request, station_id=station_id)

    def post(self, request, station_id) -> Created:
        """Record an observation at the station; ``Location`` names it."""
        return super().post(request, station_id=station_id)


class Observation(Item):
    """One observation of a station."""

    model = models.Observation
    schema = ObservationSchema
    field_columns = {"obs_id": "id"}
    not_found = "no observation {obs_id} at station {station_id}"
    put = patch = delete = None  # an observation, once recorded, stays as it was


class Weather(Resource):
    """Its ``ETag`` is made from the body by the site; caches may keep it for a minute."""

    schema = WeatherSchema
    cache_control = "public, max-age=60"

    def __init__(self, database: Database) -> None:
        self.database = database

    def get(self, request, station_id) -> models.Observation:
        """The station's latest observation, with the station's name."""
        with self.database.transaction(request) as session:
            if session.get(models.Station, station_id) is None:
                raise errors.NotFound(f"no station {station_id}")
            latest = session.scalars(
                sa.select(models.Observation)
                .options(joinedload(models.Observation.station))  # its name, in this query
                .where(models.Observation.station_id == station_id)
                .order_by(models.Observation.observed_at.desc(), models.Observation.id.desc())
                .limit(1)
            ).first()
        if latest is None:
            raise errors.NotFound(f"station {station_id} has no observations yet")
        return latest


Observations.query_schema = windowed(Observations.query_schema)


VERSIONS = Versions(
    "2026-11-23",
    Change(
        "2027-01-15",
        "Observations nest their wind: `wind.speed_ms` and `wind.direction_deg` were"
        " `wind_speed_ms` and `wind_direction_deg`.",
        schema=ObservationSchema,
        renamed={"wind_speed_ms": "wind.speed_ms", "wind_direction_deg": "wind.direction_deg"},
    ),
    default="2026-11-23",
)
"""The API's versions: a request naming none in ``API-Version`` gets the first."""


class WeatherSite(Site):
    """The site, holding its database so that whoever made it can close it (`close`)."""

    def __init__(
        self, database: Database, api_token: str, health: Sequence[Any] = ()
    ) -> None:
        writers = auth.Bearer(auth.tokens({api_token: "writer"}))
        super().__init__(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            license={"name": "MIT", "identifier": "MIT"},
            authentication={"get": [], "*": [writers]},
            idempotent=True,
            docs=True,
            versions=VERSIONS,
            compression=True,
            metrics=True,
            tracing=True,
            health=[database.check, *health],
        )
        self.database = database
        self.api_token = api_token
        self.created_tables = database.create_all()
        """The tables this site made: the database was new when it holds ``stations``."""

    def close(self) -> None:
        """Close the database's connections."""
        self.database.dispose()


def open_database(target: str | os.PathLike[str]) -> Database:
    """PostgreSQL for a ``postgresql://`` (or ``postgres://``) URL, else SQLite at the path."""
    url = str(target)
    if url.lower().startswith(("postgresql://", "postgres://")):
        return Database("postgresql" + url[url.index("://") :], models.Base.metadata)
    return Database(f"sqlite:///{os.path.abspath(target)}", models.Base.metadata)


def create_site(
    db_path: str | os.PathLike[str],
    *,
    api_token: str | None = None,
    rate_limit: str | None = None,
    idempotency_store: IdempotencyStore | None = None,
    rate_limit_store: RateLimitStore | None = None,
    trusted_proxies: TrustedProxies | Sequence[str] | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> WeatherSite:
    """The weather-station API as a WSGI application, storing its data at ``db_path`` (see
    `open_database`); missing tables are created, and ``site.close()`` closes its connections.

    Writes need ``Authorization: Bearer <api_token>`` (a random one when None:
    ``site.api_token``). ``rate_limit`` (``"600/minute"``) limits each client address. Several
    processes serving one database share their ``idempotency_store`` and ``rate_limit_store``
    (in Redis). ``trusted_proxies``: the load balancers whose ``X-Forwarded-*`` headers are
    believed; ``allowed_hosts``: the host names answered (any valid one when None).
    """
    limit = RateLimit(rate_limit, store=rate_limit_store) if rate_limit else None  # a bad rate
    proxies = TrustedProxies.coerce(trusted_proxies)  # or address fails before the db opens
    hosts = AllowedHosts.coerce(allowed_hosts)
    shared = [s.check for s in (idempotency_store, rate_limit_store) if hasattr(s, "check")]
    token = api_token or secrets.token_urlsafe(24)
    site = WeatherSite(open_database(db_path), token, shared[:1])  # one Redis, one check
    site.rate_limit = limit  # before the routes are added: each takes the site's limit
    site.trusted_proxies = proxies
    site.allowed_hosts = hosts
    if idempotency_store is not None:
        site.idempotency = Idempotency(idempotency_store)
    db = site.database
    site.add("/", Root)
    site.add("/stations", Stations(db))
    site.add("/stations/{station_id:int}", Station(db))
    site.add("/stations/{station_id:int}/observations", Observations(db))
    site.add("/stations/{station_id:int}/observations/{obs_id:int}", Observation(db))
    site.add("/stations/{station_id:int}/weather", Weather(db))
    return site
