"""Where a sample site keeps things: SQLite or PostgreSQL for data, memory or Redis for the rest.

`open_database(target)`: a ``postgresql://`` (or ``postgres://``) URL is a PostgreSQL database,
anything else the path of a SQLite file (the embedded default). `redis_stores(url)` makes the
idempotency and rate-limit stores that several processes share. psycopg and redis are imported
only when asked for, so the SQLite default needs neither.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from resourcekit.sql import Database

from .models import Base

if TYPE_CHECKING:
    from resourcekit.idempotency import IdempotencyStore
    from resourcekit.ratelimit import RateLimitStore

__all__ = ["is_database_url", "open_database", "redis_stores"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


def open_database(target: str | os.PathLike[str]) -> Database:
    """The database: PostgreSQL for a ``postgresql://`` URL, else SQLite at the path."""
    if is_database_url(target):
        url = str(target)
        return Database("postgresql" + url[url.index("://") :], Base.metadata)
    return Database(f"sqlite:///{os.path.abspath(target)}", Base.metadata)


def redis_stores(url: str, **options: Any) -> tuple[IdempotencyStore, RateLimitStore]:
    """Idempotency and rate-limit stores on the Redis at ``url`` (``redis://host:port/db``).

    ``options`` go to `resourcekit.redis.RedisIdempotencyStore` (``lock_ttl``). Raises if Redis
    does not answer.
    """
    import redis

    from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore

    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    client.ping()  # fail at start, not on the first request
    return RedisIdempotencyStore(client, **options), RedisRateLimitStore(client)
