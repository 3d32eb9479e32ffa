"""``python -m sample_project``: serve the weather-station API with waitress until SIGTERM;
``--seed`` seeds an empty database and exits. A new database is seeded unless ``SAMPLE_SEED=0``.

The settings come from the environment: ``HOST``, ``PORT``, ``THREADS``, ``SAMPLE_DB`` or
``DATABASE_URL``, ``SAMPLE_API_TOKEN`` and more (docs/guide/deploying-sample.md lists them).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from resourcekit.idempotency import MemoryIdempotencyStore
from resourcekit.serving import serve

from .app import WeatherSite, create_site
from .models import Station
from .seed import seed

T = TypeVar("T")
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _setting(name: str, parse: Callable[[str], T], default: T) -> T:
    """The environment's ``name`` read by ``parse`` (ValueError: exit saying so); unset or
    blank is ``default``."""
    value = os.environ.get(name, "").strip()
    try:
        return parse(value) if value else default
    except (ValueError, KeyError) as exc:
        raise SystemExit(f"{name} must be {parse.__doc__}, not {value!r}") from exc


def _count(value: str) -> int:
    """a whole number, 0 or more"""
    if not value.isdecimal():
        raise ValueError(value)
    return int(value)


def _flag(value: str) -> bool:
    """1 or 0 (true or false, yes or no)"""
    return _FLAGS[value.lower()]


def _names(value: str) -> list[str] | None:
    """a comma-separated list"""
    return [item.strip() for item in value.split(",") if item.strip()] or None


def _shown(url: str) -> str:
    """The URL without its password, for the log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}"))


def _redis_stores(url: str, lock_ttl: int) -> dict[str, Any]:
    """The idempotency and rate-limit stores every process shares, on the Redis at ``url``."""
    import redis

    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    try:
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        client.ping()  # fail at start, not on the first request
    except Exception as exc:  # malformed, or not answering
        raise SystemExit(f"REDIS_URL: cannot use {_shown(url)}: {exc}") from None
    return {"idempotency_store": RedisIdempotencyStore(client, lock_ttl=lock_ttl),
            "rate_limit_store": RedisRateLimitStore(client)}


def _seed(site: WeatherSite, database: str) -> None:
    """Seed the site's database, which must have no stations."""
    with site.database.sessions() as session:
        if session.scalar(sa.select(Station.id).limit(1)) is not None:
            raise SystemExit(f"the database {_shown(database)} has stations already: not seeded")
    stations, observations = seed(site.database)
    print(f"seeded {_shown(database)}: {stations} stations, {observations} observations",
          flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sample_project", description=__doc__)
    parser.add_argument("--seed", action="store_true", help="seed an empty database, and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, port = _setting("HOST", str, "127.0.0.1"), _setting("PORT", _count, 8080)
    database = _setting("DATABASE_URL", str, "") or os.path.abspath(
        _setting("SAMPLE_DB", str, "sample.db"))
    token, redis_url = _setting("SAMPLE_API_TOKEN", str, None), _setting("REDIS_URL", str, None)
    lock_ttl = _setting("SAMPLE_IDEMPOTENCY_LOCK_TTL", _count, 60) or 60
    threads = _setting("THREADS", _count, 4) or 1
    seed_new = _setting("SAMPLE_SEED", _flag, True)
    stores: dict[str, Any] = {}
    if redis_url is not None:
        stores = _redis_stores(redis_url, lock_ttl)
    elif lock_ttl != 60:
        stores["idempotency_store"] = MemoryIdempotencyStore(lock_ttl=lock_ttl)
    try:
        site = create_site(
            database,
            api_token=token,
            rate_limit=_setting("SAMPLE_RATE_LIMIT", str, None),
            trusted_proxies=_setting("SAMPLE_TRUSTED_PROXIES", _names, None),
            allowed_hosts=_setting("SAMPLE_ALLOWED_HOSTS", _names, None),
            **stores,
        )
    except ValueError as exc:  # a malformed rate limit, proxy address or host name
        names = "SAMPLE_RATE_LIMIT, SAMPLE_TRUSTED_PROXIES or SAMPLE_ALLOWED_HOSTS"
        raise SystemExit(f"{names}: {exc}") from None
    except Exception as exc:  # the database cannot be opened: say so without a traceback
        raise SystemExit(f"cannot open the database {_shown(database)}: {exc}") from None
    try:
        if args.seed:
            _seed(site, database)
            return
        shown_host = f"[{host}]" if ":" in host else host
        print(f"{site.title}: serving http://{shown_host}:{port}/ (database {_shown(database)})",
              flush=True)
        if token is None:
            print(f"writes need: Authorization: Bearer {site.api_token}", flush=True)
        if seed_new and "stations" in site.created_tables:
            _seed(site, database)  # before the first request can see it
        announce = logging.getLogger("sample_project").info
        serve(site, host=host, port=port, threads=threads, announce=announce)
    finally:
        site.close()


if __name__ == "__main__":
    main()
