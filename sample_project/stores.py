"""Which stores a sample site uses: SQLite or PostgreSQL for the data, memory or Redis for the rest.

`open_store(target)` opens the data store: a ``postgresql://`` (or ``postgres://``) URL opens a
`sample_project.pgstore.PostgresStore`, anything else is the path of a SQLite database
(`sample_project.store.Store`, the embedded default). `redis_stores(url)` makes the idempotency
and rate-limit stores that several processes share. psycopg and redis are imported only when
asked for, so the SQLite default needs neither.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeAlias

from .store import Store

if TYPE_CHECKING:
    from resourcekit.idempotency import IdempotencyStore
    from resourcekit.ratelimit import RateLimitStore

    from .pgstore import PostgresStore

    DataStore: TypeAlias = Store | PostgresStore
    """Either data store: both have the same methods."""

__all__ = ["is_database_url", "open_store", "redis_stores"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(target: str | os.PathLike[str]) -> bool:
    """Whether ``target`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.lower().startswith(POSTGRES_SCHEMES)


def open_store(db_path_or_url: str | os.PathLike[str]) -> DataStore:
    """The data store: PostgreSQL for a ``postgresql://`` URL, else SQLite at the path."""
    if is_database_url(db_path_or_url):
        from .pgstore import PostgresStore

        return PostgresStore(os.fspath(db_path_or_url))
    return Store(db_path_or_url)


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
