"""The weather-station API: resources over the store, and `create_site` that wires them up.

Reads are open; writes need ``Authorization: Bearer <token>``. Stations and observations carry
``ETag`` (their row version) and ``Last-Modified``; a conditional ``PUT``/``PATCH``/``DELETE`` of
a station is a compare-and-set in the store, so no concurrent change is lost between the site's
check and the write. ``POST``s honour ``Idempotency-Key``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from resourcekit import Created, Page, Request, Resource, Result, Site, auth, errors
from resourcekit.hosts import AllowedHosts
from resourcekit.idempotency import Idempotency, IdempotencyStore
from resourcekit.proxies import TrustedProxies
from resourcekit.ratelimit import RateLimit, RateLimitStore

from .schemas import (
    ObservationQuerySchema,
    ObservationSchema,
    RootSchema,
    StationQuerySchema,
    StationSchema,
    WeatherSchema,
)
from .stores import open_store

if TYPE_CHECKING:
    from .stores import DataStore

__all__ = ["TITLE", "VERSION", "WeatherSite", "create_site"]

TITLE = "Weather stations"
VERSION = "1.0.0"
DESCRIPTION = "Weather stations and their observations, in JSON and XML."


class _StoreResource(Resource):
    """A resource that reads and writes the store it was given."""

    def __init__(self, store: DataStore) -> None:
        self.store = store

    def _station(self, station_id: int) -> dict[str, Any]:
        return _found(self.store.get_station(station_id), f"no station {station_id}")


class _Versioned(_StoreResource):
    """A row with validators: ``ETag`` from its version, ``Last-Modified`` from ``updated_at``.

    The row is loaded once per request (`request.memo`) for the validators and the handler.
    """

    _load: Callable[..., dict[str, Any]]
    """``_load(request, **uri_fields)``: the row, or 404; each subclass names its fields."""

    def _current(self, request: Request, **fields: Any) -> dict[str, Any]:
        row: dict[str, Any] = request.memo(
            ("row", *fields.values()), lambda: self._load(request, **fields)
        )
        return row

    def etag(self, request: Request, **fields: Any) -> str:
        return str(self._current(request, **fields)["version"])

    def last_modified(self, request: Request, **fields: Any) -> dt.datetime:
        updated: dt.datetime = self._current(request, **fields)["updated_at"]
        return updated

    def get(self, request, **fields) -> dict[str, Any]:
        """Read it, with ``ETag`` and ``Last-Modified`` for conditional requests."""
        return self._current(request, **fields)


def _found(row: dict[str, Any] | None, detail: str) -> dict[str, Any]:
    if row is None:
        raise errors.NotFound(detail)
    return row


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


class Stations(_StoreResource):
    """The weather stations."""

    schema = StationSchema
    query_schema = StationQuerySchema

    def get(self, request) -> Page:
        """List stations, by id, a page at a time.

        ``limit`` (1 to 100, default 20) and ``offset`` select the page, ``country`` filters by
        ISO 3166-1 alpha-2 code; ``Link`` names the ``first``, ``prev``, ``next`` and ``last``
        pages.
        """
        query = request.query
        rows, total = self.store.list_stations(query["limit"], query["offset"], query["country"])
        return Page(rows, limit=query["limit"], offset=query["offset"], total=total)

    def post(self, request) -> Created:
        """Add a station; ``Location`` names it. ``Idempotency-Key`` makes a retry safe."""
        row = self.store.create_station(request.validated, request.idempotency_key)
        return Created(row, location=request.url_for(Station, station_id=row["id"]))


class Station(_Versioned):
    """One weather station; writes honour ``If-Match`` with the ``ETag`` last read."""

    schema = StationSchema

    def _load(self, request: Request, station_id: int) -> dict[str, Any]:
        return self._station(station_id)

    def put(self, request, station_id) -> dict[str, Any]:
        """Replace the station: every required field, as for a new one."""
        expected = self._expected(request, station_id)
        row = self.store.replace_station(station_id, request.validated, expected)
        return self._written(row, station_id)

    def patch(self, request, station_id) -> dict[str, Any]:
        """Change the given fields of the station, leaving the others as they are."""
        expected = self._expected(request, station_id)
        row = self.store.update_station(station_id, request.validated, expected)
        return self._written(row, station_id)

    def delete(self, request, station_id) -> None:
        """Delete the station and its observations."""
        if not self.store.delete_station(station_id, self._expected(request, station_id)):
            self._written(None, station_id)

    def _expected(self, request: Request, station_id: int) -> int | None:
        """The version the site checked the client's precondition against, if it did."""
        if not request.conditional:
            return None
        version: int = self._current(request, station_id=station_id)["version"]
        return version

    def _written(self, row: dict[str, Any] | None, station_id: int) -> dict[str, Any]:
        """The written row; 404 if the station is gone, 412 if it changed since the check."""
        if row is not None:
            return row
        self._station(station_id)
        raise errors.PreconditionFailed("the station changed while this request was handled")


class Observations(_StoreResource):
    """A station's observations, newest first."""

    schema = ObservationSchema
    query_schema = ObservationQuerySchema

    def get(self, request, station_id) -> Page:
        """List the station's observations, newest first, a page at a time.

        ``since`` and ``until`` (ISO 8601 with a UTC offset) bound ``observed_at``; ``limit``
        and ``offset`` select the page, as for stations.
        """
        self._station(station_id)
        query = request.query
        rows, total = self.store.list_observations(
            station_id, query["limit"], query["offset"], query["since"], query["until"]
        )
        return Page(rows, limit=query["limit"], offset=query["offset"], total=total)

    def post(self, request, station_id) -> Created:
        """Record an observation at the station; ``Location`` names it."""
        row = self.store.create_observation(
            station_id, request.validated, request.idempotency_key
        )
        row = _found(row, f"no station {station_id}")
        location = request.url_for(Observation, station_id=station_id, obs_id=row["id"])
        return Created(row, location=location)


class Observation(_Versioned):
    """One observation of a station."""

    schema = ObservationSchema

    def _load(self, request: Request, station_id: int, obs_id: int) -> dict[str, Any]:
        row = self.store.get_observation(station_id, obs_id)
        return _found(row, f"no observation {obs_id} at station {station_id}")


class Weather(_StoreResource):
    """Its ``ETag`` is made from the body by the site; caches may keep it for a minute."""

    schema = WeatherSchema
    cache_control = "public, max-age=60"

    def get(self, request, station_id) -> dict[str, Any]:
        """The station's latest observation, with the station's name."""
        self._station(station_id)
        row = self.store.latest_observation(station_id)
        return _found(row, f"station {station_id} has no observations yet")


class WeatherSite(Site):
    """The site, holding its store so that whoever made it can close it (`close`)."""

    def __init__(self, store: DataStore, api_token: str, rate_limit: str | None) -> None:
        writers = auth.Bearer(auth.tokens({api_token: "writer"}))
        super().__init__(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            license={"name": "MIT", "identifier": "MIT"},
            authentication={"get": [], "*": [writers]},
            idempotent=True,
            rate_limit=RateLimit(rate_limit) if rate_limit else None,
            docs=True,
        )
        self.store = store
        self.api_token = api_token

    def close(self) -> None:
        """Close the database connections of every thread that served a request."""
        self.store.close()


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
    """The weather-station API as a WSGI application, storing its data at ``db_path``.

    ``db_path`` is the path of a SQLite database, or a ``postgresql://`` URL (see
    `sample_project.stores.open_store`). Writes need ``Authorization: Bearer <api_token>``;
    without a token a random one is made (``site.api_token``). ``rate_limit`` (``"600/minute"``)
    limits each client address. ``idempotency_store`` and ``rate_limit_store`` replace the
    in-memory stores of idempotency keys and rate-limit counters: several processes serving one
    database must share them (`sample_project.stores.redis_stores`). ``trusted_proxies`` lists the
    load balancers whose ``X-Forwarded-*``/``Forwarded`` headers are believed; ``allowed_hosts``
    the host names the API answers to (any valid host when None). The database and
    its tables are created on first use; ``site.close()`` closes its connections.
    """
    limit = RateLimit(rate_limit, store=rate_limit_store) if rate_limit else None  # a bad rate
    proxies = TrustedProxies.coerce(trusted_proxies)  # or address fails before the store opens
    hosts = AllowedHosts.coerce(allowed_hosts)
    store = open_store(db_path)
    site = WeatherSite(store, api_token or secrets.token_urlsafe(24), None)
    site.rate_limit = limit  # before the routes are added: each takes the site's limit
    site.trusted_proxies = proxies
    site.allowed_hosts = hosts
    if idempotency_store is not None:
        site.idempotency = Idempotency(idempotency_store)
    site.add("/", Root)
    site.add("/stations", Stations(store))
    site.add("/stations/{station_id:int}", Station(store))
    site.add("/stations/{station_id:int}/observations", Observations(store))
    site.add("/stations/{station_id:int}/observations/{obs_id:int}", Observation(store))
    site.add("/stations/{station_id:int}/weather", Weather(store))
    return site
