"""The sample API as ``resourcekit serve deployed_sample:site`` imports it in each worker.

Settings from the environment, as ``python -m sample_project`` reads them: ``DATABASE_URL``,
``REDIS_URL`` (idempotency keys and rate-limit counters shared by every worker and process),
``SAMPLE_API_TOKEN``, ``SAMPLE_TRUSTED_PROXIES`` and ``SAMPLE_IDEMPOTENCY_LOCK_TTL``.
"""

from __future__ import annotations

import os

import redis

from resourcekit.redis import RedisIdempotencyStore, RedisRateLimitStore
from sample_project.app import create_site

_redis = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)
site = create_site(
    os.environ["DATABASE_URL"],
    api_token=os.environ["SAMPLE_API_TOKEN"],
    trusted_proxies=[p for p in os.environ.get("SAMPLE_TRUSTED_PROXIES", "").split(",") if p],
    idempotency_store=RedisIdempotencyStore(
        _redis, lock_ttl=int(os.environ.get("SAMPLE_IDEMPOTENCY_LOCK_TTL", "60"))
    ),
    rate_limit_store=RedisRateLimitStore(_redis),
)
