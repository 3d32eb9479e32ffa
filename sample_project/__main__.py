"""``python -m sample_project``: serve the weather-station API with waitress.

A new database starts with a few real stations, each with a day of hourly observations
(`sample_project.seed`): the first start of an empty database seeds it, unless ``SAMPLE_SEED=0``.
``python -m sample_project --seed`` seeds an empty database and exits (it refuses one that has
stations).

Settings from the environment: ``HOST`` (default 127.0.0.1), ``PORT`` (8080), ``THREADS`` (4),
``SAMPLE_DB`` (``sample.db`` in the working folder), ``SAMPLE_API_TOKEN`` (the bearer token for
writes; a random one is made and printed when unset), ``SAMPLE_RATE_LIMIT`` (e.g.
``600/minute`` per client; off when unset) and ``SAMPLE_SEED`` (``1``, the default, seeds a new
database; ``0`` leaves it empty).

To run several processes behind a load balancer (docs/guide/deploying-sample.md): ``DATABASE_URL``
(``postgresql://user:password@host:5432/db``) stores the data in PostgreSQL instead, and wins
over ``SAMPLE_DB``; ``REDIS_URL`` (``redis://host:6379/0``) keeps idempotency keys and
rate-limit counters in Redis, shared by every process; ``SAMPLE_TRUSTED_PROXIES`` lists the load
balancers' addresses (comma-separated) whose ``X-Forwarded-*`` headers are believed;
``SAMPLE_ALLOWED_HOSTS`` the host names the API answers to (comma-separated, ``.example.com``
for a domain and its subdomains; any valid host when unset);
``SAMPLE_IDEMPOTENCY_LOCK_TTL`` (seconds, default 60) is how long the key of a request that
never finished (its process died) stays locked.

SIGTERM (or Ctrl-C) stops it gracefully: no new connections, requests already received finish.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from resourcekit.idempotency import IdempotencyStore, MemoryIdempotencyStore
from resourcekit.ratelimit import RateLimitStore
from resourcekit.serving import serve

from .app import WeatherSite, create_site
from .models import Station
from .seed import seed
from .stores import redis_stores

_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _int_setting(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SystemExit(f"{name} must not be negative, not {number}")
    return number


def _setting(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def _flag_setting(name: str, default: bool) -> bool:
    value = (_setting(name) or str(int(default))).lower()
    if value not in _FLAGS:
        raise SystemExit(f"{name} must be 1 or 0 (true or false, yes or no), not {value!r}")
    return _FLAGS[value]


def _list_setting(name: str) -> list[str] | None:
    """A comma-separated setting's items, or None when unset or empty."""
    items = [item.strip() for item in (_setting(name) or "").split(",")]
    return [item for item in items if item] or None


def _shown_url(url: str) -> str:
    """The URL without its password, for the log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sample_project",
        description="Serve the weather-station API. Its settings come from the environment: "
        "HOST, PORT, THREADS, SAMPLE_DB or DATABASE_URL, SAMPLE_API_TOKEN, SAMPLE_SEED and more "
        "(see the module's documentation).",
    )
    parser.add_argument(
        "--seed",
        action="store_true",
        help="add the sample stations and their observations to an empty database, and exit",
    )
    return parser.parse_args(argv)


def _seed(site: WeatherSite, database: str) -> None:
    """Seed the site's database, which must have no stations."""
    shown = _shown_url(database)
    with site.database.sessions() as session:
        if session.scalar(sa.select(Station.id).limit(1)) is not None:
            raise SystemExit(f"the database {shown} has stations already: not seeded")
    stations, observations = seed(site.database)
    print(f"seeded {shown}: {stations} stations, {observations} observations", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = _setting("HOST") or "127.0.0.1"
    port = _int_setting("PORT", 8080)
    threads = _int_setting("THREADS", 4) or 1
    database = _setting("DATABASE_URL") or os.path.abspath(_setting("SAMPLE_DB") or "sample.db")
    token = _setting("SAMPLE_API_TOKEN")
    rate_limit = _setting("SAMPLE_RATE_LIMIT")
    redis_url = _setting("REDIS_URL")
    lock_ttl = _int_setting("SAMPLE_IDEMPOTENCY_LOCK_TTL", 60) or 60
    proxies = _list_setting("SAMPLE_TRUSTED_PROXIES")
    allowed_hosts = _list_setting("SAMPLE_ALLOWED_HOSTS")
    seed_new = _flag_setting("SAMPLE_SEED", default=True)
    idempotency_store: IdempotencyStore | None = None
    rate_limit_store: RateLimitStore | None = None
    if redis_url is not None:
        try:
            idempotency_store, rate_limit_store = redis_stores(redis_url, lock_ttl=lock_ttl)
        except Exception as exc:  # not installed, malformed, or not answering
            raise SystemExit(f"REDIS_URL: cannot use {_shown_url(redis_url)}: {exc}") from None
    elif lock_ttl != 60:
        idempotency_store = MemoryIdempotencyStore(lock_ttl=lock_ttl)
    try:
        site = create_site(
            database,
            api_token=token,
            rate_limit=rate_limit,
            trusted_proxies=proxies,
            allowed_hosts=allowed_hosts,
            idempotency_store=idempotency_store,
            rate_limit_store=rate_limit_store,
        )
    except ValueError as exc:  # a malformed SAMPLE_RATE_LIMIT, _TRUSTED_PROXIES or _ALLOWED_HOSTS
        settings = "SAMPLE_RATE_LIMIT, SAMPLE_TRUSTED_PROXIES or SAMPLE_ALLOWED_HOSTS"
        raise SystemExit(f"{settings}: {exc}") from None
    except Exception as exc:  # the database cannot be opened: say so without a traceback
        raise SystemExit(f"cannot open the database {_shown_url(database)}: {exc}") from None
    if args.seed:
        try:
            _seed(site, database)
        finally:
            site.close()
        return
    shown_host = f"[{host}]" if ":" in host else host
    where = f"http://{shown_host}:{port}/ (database {_shown_url(database)})"
    print(f"{site.title}: serving {where}", flush=True)
    if token is None:
        print(f"writes need: Authorization: Bearer {site.api_token}", flush=True)
    try:
        if seed_new and "stations" in site.created_tables:  # before the first request can see it
            _seed(site, database)
        serve(
            site,
            host=host,
            port=port,
            threads=threads,
            announce=logging.getLogger("sample_project").info,
        )
    finally:
        site.close()


if __name__ == "__main__":
    main()
